/* What every plotly figure on the site does beyond plotly's defaults (loaded once per page, right
 * after plotly.min.js and before the first figure; the figures' configuration is plots.site_config).
 *  - The PNG button downloads the figure with its title: on the page the title is the HTML
 *    caption above the plot, so the picture would otherwise lose it.
 *  - On a narrow screen a long axis title is broken over lines instead of being cut off.
 *  - Printing redraws each figure at the width of the paper (A4), and back afterwards.
 *  - A figure's filters are native <select>s above it (plots.Filter): a change shows the traces
 *    whose keys match every select (plots.visible_traces is the same rule) and applies the
 *    chosen option's layout, then says in a status line what the figure now shows.
 */
(function () {
  'use strict';
  if (typeof Plotly === 'undefined') { return; }
  var TITLE_SPACE = 40;  /* plots.TITLE_SPACE */
  var PRINT_WIDTH = 680;  /* CSS px inside A4 with the print stylesheet's page margins */

  function titleOf(gd) {
    var figure = gd.closest('figure');
    var title = figure && figure.querySelector('.dp-figure-title');
    return title ? title.textContent : '';
  }

  function downloadPng(gd) {
    var full = gd._fullLayout;
    var opts = Object.assign({format: 'png', scale: 2}, gd._context.toImageButtonOptions);
    var layout = Object.assign({}, gd.layout, {width: full.width, height: full.height});
    var title = titleOf(gd);
    if (title) {
      layout.title = {text: title, x: 0, xanchor: 'left', y: 1, yanchor: 'top', pad: {t: 12, l: 8},
                      yref: 'container', font: {size: 17}};
      layout.margin = Object.assign({}, layout.margin, {t: full.margin.t + TITLE_SPACE});
      layout.height = full.height + TITLE_SPACE;
    }
    opts.width = layout.width;
    opts.height = layout.height;
    return Plotly.downloadImage({data: gd.data, layout: layout, config: {}}, opts);
  }

  function pngButton(config) {
    var words = (config.locales && config.locales[config.locale] || {}).dictionary || {};
    return {name: 'toImage', title: words['Download plot as a PNG'] || 'Download plot as a PNG',
            icon: Plotly.Icons.camera, click: downloadPng};
  }

  function wrap(text, perLine) {
    var words = String(text).split(' '), lines = [''];
    words.forEach(function (w) {
      var last = lines[lines.length - 1];
      if (last && (last + ' ' + w).length > perLine) { lines.push(w); } else { lines[lines.length - 1] = last ? last + ' ' + w : w; }
    });
    return lines.join('<br>');
  }

  /* After drawing: an x-axis title wider than the figure is broken over lines (measured, not guessed);
     the figure grows by the extra lines and a legend below the plot moves down with them. */
  function wrapAxisTitle(gd) {
    var full = gd._fullLayout, node = gd.querySelector('.g-xtitle text');
    if (!full || !node || !full.xaxis || !full.xaxis.title || !full.xaxis.title.text) { return; }
    var text = String(full.xaxis.title.text);
    if (text.indexOf('<br>') >= 0) { return; }
    var centre = full._size.l + full._size.w / 2;
    var room = 2 * Math.min(centre, full.width - centre) - 8, width = node.getBBox().width;
    if (width <= room) { return; }
    var wrapped = wrap(text, Math.max(10, Math.floor(text.length * room / width) - 1));
    var lines = wrapped.split('<br>').length;
    var size = full.xaxis.title.font.size, extra = Math.round((lines - 1) * size * 1.3);
    var update = {'xaxis.title.text': wrapped, height: full.height + extra, 'margin.b': full.margin.b + extra};
    var legend = gd.layout.legend;
    if (legend && legend.orientation === 'h' && legend.y < 0) { update['legend.y'] = legend.y - extra / full._size.h; }
    gd.parentElement.style.height = (full.height + extra) + 'px';
    Plotly.relayout(gd, update);
  }

  var newPlot = Plotly.newPlot;
  Plotly.newPlot = function (gd, data, layout, config) {
    if (config && config.modeBarButtons) {
      config = Object.assign({}, config);
      config.modeBarButtons = config.modeBarButtons.map(function (group) {
        return group.map(function (b) { return b === 'toImage' ? pngButton(config) : b; });
      });
    }
    var drawn = newPlot.call(this, gd, data, layout, config);
    if (drawn && drawn.then) { drawn.then(wrapAxisTitle); }
    return drawn;
  };

  function applyFilters(box) {
    var spec = JSON.parse(box.getAttribute('data-dp-filters'));
    var gd = document.getElementById(spec.figure);
    if (!gd || !gd._fullLayout) { return; }
    var state = {}, chosen = [], layout = {};
    box.querySelectorAll('select[data-dp-key]').forEach(function (s) {
      var key = s.getAttribute('data-dp-key');
      state[key] = s.value;
      chosen.push(s.options[s.selectedIndex].text);
      var byValue = spec.layouts[key];
      if (byValue && byValue[s.value]) { Object.assign(layout, byValue[s.value]); }
    });
    var visible = spec.keys.map(function (k) {
      for (var f in state) {
        if (k[f] === spec.others) { if (state[f] === spec.defaults[f]) { return false; } continue; }
        if (k[f] !== undefined && k[f] !== null && k[f] !== state[f]) { return false; }
      }
      return true;
    });
    Plotly.update(gd, {visible: visible}, layout);
    var status = box.querySelector('.dp-filter-status');
    if (status) { status.textContent = 'Figuren viser nu: ' + chosen.join(', ') + '.'; }
  }
  document.addEventListener('change', function (e) {
    var s = e.target;
    if (s && s.matches && s.matches('select[data-dp-key]')) { applyFilters(s.closest('.dp-filters')); }
  });

  function forPrint(on) {
    document.querySelectorAll('.js-plotly-plot').forEach(function (gd) {
      if (!gd._fullLayout) { return; }
      if (on && !gd.dataset.dpPrinting) {
        gd.dataset.dpPrinting = '1';
        Plotly.relayout(gd, {width: PRINT_WIDTH});
      } else if (!on && gd.dataset.dpPrinting) {
        delete gd.dataset.dpPrinting;
        Plotly.relayout(gd, {width: null, autosize: true});
      }
    });
  }
  if (window.matchMedia) {
    var print = window.matchMedia('print');
    if (print.addEventListener) { print.addEventListener('change', function (e) { forPrint(e.matches); }); }
  }
  window.addEventListener('beforeprint', function () { forPrint(true); });
  window.addEventListener('afterprint', function () { forPrint(false); });
})();
