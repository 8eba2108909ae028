// The report's style sheet, script and placeholder (see report_assets.hpp).
#include "daemon/report/report_assets.hpp"

namespace ndrd::daemon {

std::string_view report_css()
{
    return R"css(:root { --kept: #2f6db3; --dup: #d9822b; --line: #c0392b; --ink: #1d1f21; --mute: #6b7075; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--ink); background: #f6f7f8; }
header { background: #22272e; color: #fff; padding: 10px 20px; display: flex; gap: 18px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 17px; margin: 0 12px 0 0; }
header a { color: #cde; text-decoration: none; }
header a.here { color: #fff; font-weight: 600; border-bottom: 2px solid #fff; }
main { padding: 16px 20px 40px; max-width: 1500px; }
h2 { font-size: 16px; margin: 22px 0 8px; }
table { border-collapse: collapse; background: #fff; margin: 6px 0 14px; }
th, td { border: 1px solid #dde; padding: 4px 10px; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: flex; gap: 14px; flex-wrap: wrap; }
.card { background: #fff; border: 1px solid #dde; padding: 8px 14px; min-width: 150px; }
.card b { display: block; font-size: 22px; }
.note { color: var(--mute); max-width: 900px; }
svg.hist { background: #fff; border: 1px solid #dde; }
svg.hist text { font: 11px system-ui, sans-serif; fill: var(--ink); }
.controls { background: #fff; border: 1px solid #dde; padding: 8px 12px; display: flex; gap: 18px; flex-wrap: wrap; align-items: center; position: sticky; top: 0; z-index: 1; }
.group { background: #fff; border: 1px solid #dde; margin: 12px 0; padding: 8px 12px; }
.group h3 { margin: 0 0 6px; font-size: 14px; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; }
figure.tile { margin: 0; width: 224px; border: 1px solid #e3e5e8; padding: 5px; background: #fbfbfc; }
figure.tile.ref { border: 2px solid var(--kept); }
figure.tile.dup { border-top: 3px solid var(--dup); }
figure.tile img { display: block; width: 212px; height: 160px; object-fit: contain; background: #eceef0; }
figcaption { font-size: 12px; overflow-wrap: anywhere; margin-top: 4px; }
.sim { font-weight: 700; font-size: 14px; }
.badge { display: inline-block; padding: 0 5px; border-radius: 3px; background: #e8ecf1; font-size: 11px; }
.badge.exact { background: #dff2e1; } .badge.variant { background: #efe4f7; } .badge.near { background: #fdebd9; }
code.cmd { display: block; font-size: 11px; background: #f0f1f3; padding: 2px 4px; margin-top: 4px; user-select: all; }
button.copy { font-size: 11px; margin-top: 2px; }
.pages { margin: 14px 0; } .pages a, .pages span { margin-right: 8px; }
.hidden { display: none !important; }
)css";
}

std::string_view report_js()
{
    return R"js(// Sorting and filtering of the groups on this page, and copying commands.
// The page works without it; nothing here reaches beyond the page.
(function () {
  'use strict';
  function groups() { return Array.prototype.slice.call(document.querySelectorAll('.group')); }
  function applyFilters() {
    var shown = {};
    document.querySelectorAll('input[data-kind]').forEach(function (box) { shown[box.dataset.kind] = box.checked; });
    groups().forEach(function (g) {
      var visible = 0;
      g.querySelectorAll('figure.dup').forEach(function (t) {
        var on = shown[t.dataset.kind] !== false;
        t.classList.toggle('hidden', !on);
        if (on) visible++;
      });
      g.classList.toggle('hidden', visible === 0);
    });
  }
  function sortGroups(order) {
    var list = document.getElementById('groups');
    if (!list) return;
    var key = {
      borderline: function (g) { return [parseFloat(g.dataset.low), parseInt(g.dataset.ref, 10)]; },
      similar: function (g) { return [-parseFloat(g.dataset.low), parseInt(g.dataset.ref, 10)]; },
      newest: function (g) { return [-parseInt(g.dataset.newest, 10), parseInt(g.dataset.ref, 10)]; }
    }[order];
    groups().sort(function (a, b) {
      var ka = key(a), kb = key(b);
      return ka[0] !== kb[0] ? ka[0] - kb[0] : ka[1] - kb[1];
    }).forEach(function (g) { list.appendChild(g); });
  }
  function copy(text, button) {
    function done() { button.textContent = 'copied'; setTimeout(function () { button.textContent = 'copy'; }, 1200); }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
      return;
    }
    var area = document.createElement('textarea');
    area.value = text;
    document.body.appendChild(area);
    area.select();
    try { document.execCommand('copy'); done(); } catch (e) { /* the command stays selectable */ }
    document.body.removeChild(area);
  }
  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('input[data-kind]').forEach(function (box) { box.addEventListener('change', applyFilters); });
    var order = document.getElementById('order');
    if (order) order.addEventListener('change', function () { sortGroups(order.value); });
    document.querySelectorAll('button.copy').forEach(function (b) {
      b.addEventListener('click', function () { copy(b.previousElementSibling.textContent, b); });
    });
  });
})();
)js";
}

std::string_view placeholder_svg()
{
    return R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="200" height="150" viewBox="0 0 200 150">
<rect width="200" height="150" fill="#eceef0"/>
<path d="M70 95 l20-25 15 18 10-12 20 19z" fill="#c4c8cd"/>
<circle cx="120" cy="55" r="9" fill="#c4c8cd"/>
<text x="100" y="128" font-family="sans-serif" font-size="12" text-anchor="middle" fill="#6b7075">no preview</text>
</svg>
)svg";
}

} // namespace ndrd::daemon
