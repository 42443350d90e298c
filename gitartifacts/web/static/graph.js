// The lineage graph: cytoscape + dagre draw the folded graph (W&B's grouping) or, after
// Explode, every node. Labels are data, set as cytoscape text, never as HTML.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("graph").textContent);
  const container = document.getElementById("cy");
  const button = document.getElementById("explode");
  const count = document.getElementById("count");
  let exploded = Boolean(data.explode);

  const style = [
    { selector: "node", style: {
      "label": "data(label)", "font-size": 11, "text-valign": "center", "text-halign": "center",
      "text-wrap": "ellipsis", "text-max-width": 150, "width": 160, "height": 36,
      "background-color": "#e8f1ec", "border-width": 1, "border-color": "#2f6f4f",
      "shape": "round-rectangle" } },
    { selector: "node[kind = 'run']", style: {
      "shape": "ellipse", "background-color": "#e9eef8", "border-color": "#3d5a99" } },
    { selector: "node[?group]", style: { "border-style": "dashed", "border-width": 2 } },
    { selector: "node[href]", style: { "color": "#0550ae" } },
    { selector: "node.start", style: { "border-width": 3 } },
    { selector: "edge", style: {
      "width": 1.5, "line-color": "#9aa3b2", "target-arrow-color": "#9aa3b2",
      "target-arrow-shape": "triangle", "curve-style": "bezier" } },
  ];

  // Cytoscape adds an inline <style> (position: relative) unless an element of this id is
  // there; the CSP blocks inline styles, and style.css gives #cy that position.
  const mark = document.createElement("meta");
  mark.id = "__________cytoscape_stylesheet";
  document.head.appendChild(mark);
  const cy = cytoscape({ container: container, style: style });
  window.lineageGraph = cy;  // for tests and the console

  function draw() {
    const els = exploded ? data.exploded : data.folded;
    cy.elements().remove();
    cy.add(els.nodes.concat(els.edges));
    cy.getElementById(data.start).addClass("start");
    cy.layout({ name: "dagre", rankDir: "LR", nodeSep: 20, rankSep: 60 }).run();
    cy.fit(undefined, 20);
    container.dataset.nodes = String(cy.nodes().length);
    container.dataset.labels = JSON.stringify(cy.nodes().map((n) => n.data("label")).sort());
    count.textContent = cy.nodes().length + " nodes";
    button.setAttribute("aria-pressed", String(exploded));
    button.textContent = exploded ? "Fold groups" : "Explode";
  }

  cy.on("tap", "node", (evt) => {
    const href = evt.target.data("href");
    if (href) window.location.assign(href);
  });
  button.addEventListener("click", () => { exploded = !exploded; draw(); });
  draw();
})();
