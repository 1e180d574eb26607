/* The fallback site's small behaviours (loaded by every page, and again before the first figure;
 * it runs once):
 *  - On a narrow screen the menu starts folded (it is open in the HTML, so it works without
 *    JavaScript); on a wide one it is always open.
 *  - A box that scrolls sideways (a wide table or figure on a phone) can be reached and scrolled
 *    with the keyboard and is named after its content.
 *  - A link to the folded table behind a figure (<details>) opens it.
 */
(function () {
  'use strict';
  if (window.dpSite) { return; }
  window.dpSite = true;
  var wide = window.matchMedia('(min-width: 900px)');

  function menu() {
    var m = document.getElementById('dp-menu');
    if (m) { m.open = wide.matches; }
  }
  menu();
  if (wide.addEventListener) { wide.addEventListener('change', menu); }

  var SCROLLERS = '.dp-scroll, .dp-figure-scroll, .output_html, .cell-output-display';
  function nameOf(box) {
    var figure = box.closest('figure');
    var c = figure ? figure.querySelector('.dp-figure-title') : box.querySelector('caption, h2, h3');
    return (c ? c.textContent.trim() : 'Indhold') + ' (rul vandret for at se det hele)';
  }
  function scrollers() {
    var names = {};
    document.querySelectorAll(SCROLLERS).forEach(function (box) {
      var overflows = box.scrollWidth > box.clientWidth + 1 && getComputedStyle(box).overflowX !== 'visible';
      if (overflows && !box.hasAttribute('tabindex')) {
        box.setAttribute('tabindex', '0');
        box.setAttribute('role', 'region');
        var name = nameOf(box);
        names[name] = (names[name] || 0) + 1;  /* landmarks need unique names */
        box.setAttribute('aria-label', names[name] > 1 ? name + ' ' + names[name] : name);
        box.dataset.dpScroller = '1';
      } else if (!overflows && box.dataset.dpScroller) {
        ['tabindex', 'role', 'aria-label', 'data-dp-scroller'].forEach(function (a) { box.removeAttribute(a); });
      }
    });
  }
  /* a link to the numbers behind a figure opens the folded table it points to */
  function openTarget(hash) {
    var id = hash && hash.charAt(0) === '#' ? decodeURIComponent(hash.slice(1)) : '';
    var target = id && document.getElementById(id);
    var box = target && target.closest && target.closest('details');
    if (box) { box.open = true; }
  }
  document.addEventListener('click', function (e) {
    var a = e.target && e.target.closest && e.target.closest('a[href^="#"]');
    if (a) { openTarget(a.getAttribute('href')); }
  });
  window.addEventListener('hashchange', function () { openTarget(location.hash); });
  openTarget(location.hash);

  var timer;
  function later() { clearTimeout(timer); timer = setTimeout(scrollers, 150); }
  if (document.readyState === 'complete') { scrollers(); } else { window.addEventListener('load', scrollers); }
  window.addEventListener('resize', later);
})();
