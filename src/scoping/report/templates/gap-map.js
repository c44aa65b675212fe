// The evidence-gap map: pick the dimension, click a bubble to list the works of its cell.
// Works are written with textContent (never as markup); DOI links go to doi.org.
// A link to the page ending #gap-M-I-J opens map M's cell of topic row I and column J.
(function () {
  "use strict";
  var root = document.getElementById("gap-map");
  var source = document.getElementById("gap-data");
  if (!root || !source) { return; }
  var data = JSON.parse(source.textContent);
  var panel = document.getElementById("gap-works");
  var grids = root.querySelectorAll(".gap-grid");
  var current = 0;

  function show(index) {
    current = index;
    for (var k = 0; k < grids.length; k++) { grids[k].hidden = (k !== index); }
  }

  function list(cell, bubble) {
    var map = data.maps[current];
    var parts = cell.split(",");
    var works = map.cells[cell] || [];
    var selected = root.querySelectorAll(".bubble.selected");
    for (var s = 0; s < selected.length; s++) { selected[s].classList.remove("selected"); }
    bubble.classList.add("selected");
    panel.textContent = "";
    var heading = document.createElement("h4");
    heading.textContent = map.rows[+parts[0]] + " \u00d7 " + map.columns[+parts[1]] + ": " +
      works.length + (works.length === 1 ? " work" : " works");
    panel.appendChild(heading);
    var items = document.createElement("ol");
    works.forEach(function (position) {
      var work = data.works[position];
      var item = document.createElement("li");
      item.appendChild(document.createTextNode(work[0] + " (" + (work[1] || "n.d.") + ")"));
      if (work[2]) {
        var link = document.createElement("a");
        link.href = "https://doi.org/" + encodeURI(work[2]);
        link.textContent = "doi:" + work[2];
        item.appendChild(document.createTextNode(" "));
        item.appendChild(link);
      }
      items.appendChild(item);
    });
    panel.appendChild(items);
  }

  root.addEventListener("click", function (event) {
    var bubble = event.target.closest(".bubble");
    if (bubble) { list(bubble.getAttribute("data-cell"), bubble); }
  });
  root.addEventListener("keydown", function (event) {
    var bubble = event.target.closest(".bubble");
    if (bubble && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      list(bubble.getAttribute("data-cell"), bubble);
    }
  });
  var choose = document.getElementById("gap-dimension");
  if (choose) {
    choose.addEventListener("change", function () { show(+choose.value); });
  }
  show(0);
  var wanted = /^#gap-(\d+)-(\d+)-(\d+)$/.exec(window.location.hash);
  if (wanted && +wanted[1] < grids.length) {
    show(+wanted[1]);
    if (choose) { choose.value = wanted[1]; }
    var cell = wanted[2] + "," + wanted[3];
    var target = grids[+wanted[1]].querySelector('.bubble[data-cell="' + cell + '"]');
    if (target) { list(cell, target); }
  }
})();
