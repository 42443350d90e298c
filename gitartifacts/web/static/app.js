// The small behaviours of the server-rendered pages: the file filter and sortable tables.
// Data is only ever read from and written to the DOM as text (textContent, dataset).
"use strict";

function setUpFilter() {
  const box = document.getElementById("filter");
  const tree = document.getElementById("files");
  if (!box || !tree) return;
  const files = Array.from(tree.querySelectorAll("li.file"));
  const folders = Array.from(tree.querySelectorAll("li.folder")).reverse();
  const shown = document.getElementById("shown");
  box.addEventListener("input", () => {
    const needle = box.value.toLowerCase();
    let count = 0;
    for (const li of files) {
      const hit = li.dataset.path.toLowerCase().includes(needle);
      li.classList.toggle("hidden", !hit);
      if (hit) count += 1;
    }
    for (const li of folders) {  // innermost first: a folder shows when a file under it does
      li.classList.toggle("hidden", !li.querySelector("li.file:not(.hidden)"));
    }
    shown.textContent = String(count);
  });
}

function sortKey(cell) {
  const marked = cell.querySelector("[data-sort]");
  if (marked) return { num: Number(marked.dataset.sort), text: "" };
  const text = cell.textContent.trim();
  return { num: NaN, text: text };
}

function compare(a, b, dir) {
  const aEmpty = isNaN(a.num) && a.text === "";
  const bEmpty = isNaN(b.num) && b.text === "";
  if (aEmpty || bEmpty) return aEmpty - bEmpty;  // a run without the value: last either way
  if (!isNaN(a.num) && !isNaN(b.num)) return dir * (a.num - b.num);
  if (!isNaN(a.num)) return -dir;
  if (!isNaN(b.num)) return dir;
  return dir * a.text.localeCompare(b.text, undefined, { numeric: true });
}

function setUpSorting() {
  for (const table of document.querySelectorAll("table.sortable")) {
    const heads = Array.from(table.tHead.rows[0].cells);
    heads.forEach((th, col) => {
      th.addEventListener("click", () => {
        const down = th.getAttribute("aria-sort") === "ascending";
        heads.forEach((h) => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        const dir = down ? -1 : 1;
        rows.sort((r1, r2) => compare(sortKey(r1.cells[col]), sortKey(r2.cells[col]), dir));
        for (const r of rows) body.appendChild(r);
      });
    });
  }
}

setUpFilter();
setUpSorting();
