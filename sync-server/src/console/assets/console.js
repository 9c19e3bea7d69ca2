// The console's only script: progressive enhancement of server-rendered pages.
// Everything works without it except the live countdowns and picking a position on the map.
"use strict";

(function () {
  // The server's clock, as it was when the page was rendered: countdowns follow the
  // server's time (deadlines are the server's), not the browser's.
  const body = document.body;
  const serverNow = Number(body.dataset.nowMs || Date.now());
  const loadedAt = Date.now();
  const now = () => serverNow + (Date.now() - loadedAt);

  // "1小时5分" / "-12分" from ms.
  function span(ms) {
    const sign = ms < 0 ? "-" : "";
    let m = Math.floor(Math.abs(ms) / 60000);
    const d = Math.floor(m / 1440); m -= d * 1440;
    const h = Math.floor(m / 60); m -= h * 60;
    const s = Math.floor((Math.abs(ms) % 60000) / 1000);
    if (d > 0) return `${sign}${d}天${h}小时`;
    if (h > 0) return `${sign}${h}小时${m}分`;
    return `${sign}${m}分${String(s).padStart(2, "0")}秒`;
  }

  function tick() {
    for (const el of document.querySelectorAll("[data-due-ms]")) {
      const left = Number(el.dataset.dueMs) - now();
      el.textContent = span(left);
      const row = el.closest("tr");
      if (row) {
        row.classList.toggle("late", left < 0);
        row.classList.toggle("soon", left >= 0 && left < 30 * 60000);
      }
    }
  }
  tick();
  setInterval(tick, 1000);

  // Buttons that ask before they act.
  document.addEventListener("submit", (e) => {
    const q = e.target.dataset && e.target.dataset.confirm;
    if (q && !window.confirm(q)) e.preventDefault();
  });

  // Picking a position on a map: a click fills the form's latitude and longitude with the
  // position in the map's datum (the server converts GCJ-02 back to WGS-84).
  for (const svg of document.querySelectorAll("svg[data-pick-form]")) {
    svg.addEventListener("click", (e) => {
      const form = document.getElementById(svg.dataset.pickForm);
      if (!form) return;
      const pt = svg.createSVGPoint();
      pt.x = e.clientX; pt.y = e.clientY;
      const p = pt.matrixTransform(svg.getScreenCTM().inverse());
      const scale = Number(svg.dataset.scale), ox = Number(svg.dataset.originX), oy = Number(svg.dataset.originY);
      // Web Mercator, inverted: x = (lon + 180) / 360 * scale - ox, y = mercY(lat) * scale - oy.
      const lon = (p.x + ox) / scale * 360 - 180;
      const n = Math.PI - 2 * Math.PI * (p.y + oy) / scale;
      const lat = 180 / Math.PI * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n)));
      form.elements.lat.value = lat.toFixed(6);
      form.elements.lon.value = lon.toFixed(6);
      if (form.elements.datum) form.elements.datum.value = svg.dataset.datum || "wgs84";
      let mark = svg.querySelector("circle.picked");
      if (!mark) {
        mark = document.createElementNS("http://www.w3.org/2000/svg", "circle");
        mark.setAttribute("class", "picked"); mark.setAttribute("r", "6");
        mark.setAttribute("fill", "none"); mark.setAttribute("stroke", "#c0392b"); mark.setAttribute("stroke-width", "3");
        svg.appendChild(mark);
      }
      mark.setAttribute("cx", p.x); mark.setAttribute("cy", p.y);
    });
  }

  // The intake desk's duplicate check without sending the form: the photos chosen stay
  // chosen. (Without this script the button sends the form, which comes back filled.)
  for (const button of document.querySelectorAll("button[data-check-url]")) {
    button.addEventListener("click", async (e) => {
      const form = button.form;
      const slot = document.getElementById("hints-slot");
      if (!form || !slot) return;
      e.preventDefault();
      const q = new URLSearchParams();
      for (const name of ["checklist_item", "lat", "lon", "datum"]) {
        const el = form.elements[name];
        if (el && el.value) q.set(name, el.value);
      }
      const answer = await fetch(`${button.dataset.checkUrl}?${q}`, { credentials: "same-origin", headers: { accept: "text/html" } });
      slot.innerHTML = await answer.text();
    });
  }

  // Filtering a long list of checklist items as one types.
  for (const input of document.querySelectorAll("input[data-filter-select]")) {
    const select = document.getElementById(input.dataset.filterSelect);
    if (!select) continue;
    input.addEventListener("input", () => {
      const q = input.value.trim().toLowerCase();
      let first = null;
      for (const opt of select.options) {
        const show = !q || opt.text.toLowerCase().includes(q) || opt.value.toLowerCase().includes(q);
        opt.hidden = !show;
        if (show && !first && opt.value) first = opt;
      }
      if (first && select.selectedOptions[0] && select.selectedOptions[0].hidden) select.value = first.value;
    });
  }
})();
