"""The files of artifacts in the work tree: scanning, hashing, comparing, checking out."""
