"""The local web view (`git artifacts ui`): a read-only server over the operations layer."""
