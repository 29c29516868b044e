/*
 * yaoshi — page behaviour (plain ES2017, no build step).
 *
 * Loaded as <script src="/static/app.js" defer></script> AFTER htmx.min.js.
 * The CSP forbids inline scripts, so every behaviour lives here and is wired
 * through data-attributes:
 *
 *   form[data-confirm] / button[data-confirm] / a[data-confirm]
 *       window.confirm(el.dataset.confirm) before submit/click; refused = cancelled
 *       (also stops htmx from firing; for htmx elements hx-confirm works too).
 *   form[data-upload] (+ <progress class="upload-progress"> + [data-upload-status])
 *       submitted via XMLHttpRequest with upload progress; response replaces page.
 *   every other POST form: submit buttons disabled after submit (double-submit
 *       guard), re-enabled on back/forward (pageshow). Opt out: form[data-no-guard]
 *       (use it for POST forms that answer with a file download).
 *   .alert[data-autohide]        fades out after 5 s (or data-autohide="ms").
 *   button[data-copy="ID"]       copies #ID's text; label shows "已复制" for 2 s.
 *   button[data-bs-toggle="collapse"][data-bs-target]
 *       shows/hides the target (the side menu below 992 px, e.g. on a phone or a
 *       laptop zoomed to 150%), keeping aria-expanded true to it.
 *
 * htmx configuration is NOT set here: this file runs after htmx has already
 * processed the page. The layout sets it in <head>, before htmx loads:
 *
 *   <meta name="htmx-config"
 *         content='{"selfRequestsOnly":true,"allowEval":false,"includeIndicatorStyles":false}'>
 *
 * (selfRequestsOnly: same-origin requests only; allowEval:false: no eval/
 * new Function, needed for a CSP without 'unsafe-eval'; includeIndicatorStyles:
 * false: htmx would otherwise inject an inline <style> that the CSP blocks —
 * app.css provides the .htmx-indicator rules instead.)
 *
 * Note: no "already initialised" guard on purpose. After an upload the page is
 * replaced with document.open/write/close, which erases all listeners on
 * document and window; this script then runs again and re-attaches them.
 */
(function () {
  'use strict';

  var AUTOHIDE_MS = 5000;
  var COPIED_MS = 2000;

  // ---------------------------------------------------------------- helpers

  function closestFromEvent(event, selector) {
    var t = event.target;
    if (!t || typeof t.closest !== 'function') {
      t = t && t.parentElement;
      if (!t) return null;
    }
    return t.closest(selector);
  }

  function submitButtonsOf(form) {
    // form.elements includes buttons outside the form that use form="id".
    return Array.prototype.filter.call(form.elements, function (el) {
      return (el.tagName === 'BUTTON' || el.tagName === 'INPUT') && el.type === 'submit';
    });
  }

  function formMethod(form, submitter) {
    var m = submitter && submitter.hasAttribute('formmethod')
      ? submitter.getAttribute('formmethod')
      : form.getAttribute('method');
    return (m || 'get').toLowerCase();
  }

  function formAction(form, submitter) {
    var a = submitter && submitter.hasAttribute('formaction')
      ? submitter.getAttribute('formaction')
      : form.getAttribute('action');
    return new URL(a || window.location.href, document.baseURI).href;
  }

  function stripHash(url) {
    var i = url.indexOf('#');
    return i === -1 ? url : url.slice(0, i);
  }

  // ------------------------------------------------- 1. confirmation prompts
  // Capture phase on document: runs before htmx's listeners on the element
  // itself, so a refused confirm also stops htmx requests.

  document.addEventListener('click', function (event) {
    var el = closestFromEvent(event, 'button[data-confirm], a[data-confirm], input[type="submit"][data-confirm]');
    if (!el || el.disabled) return;
    if (!window.confirm(el.getAttribute('data-confirm'))) {
      event.preventDefault();
      event.stopImmediatePropagation();
      event.stopPropagation();
    }
  }, true);

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form || !form.matches || !form.matches('form[data-confirm]')) return;
    // A submit button that carries its own data-confirm was already asked on click.
    var submitter = event.submitter;
    if (submitter && submitter.hasAttribute('data-confirm')) return;
    if (!window.confirm(form.getAttribute('data-confirm'))) {
      event.preventDefault();
      event.stopImmediatePropagation();
      event.stopPropagation();
    }
  }, true);

  // --------------------------------------- 2./3. upload + double-submit guard
  // Bubble phase: runs after confirm and after htmx (which preventDefault()s
  // the forms it handles, so they are skipped here).

  document.addEventListener('submit', function (event) {
    if (event.defaultPrevented) return;
    var form = event.target;
    if (!form || form.tagName !== 'FORM') return;
    var submitter = event.submitter || null;

    if (form.hasAttribute('data-upload') && form.querySelector('progress.upload-progress')) {
      event.preventDefault();
      startUpload(form, submitter);
      return;
    }

    if (form.hasAttribute('data-no-guard')) return;
    if (formMethod(form, submitter) !== 'post') return; // GET (search, export) is harmless to repeat
    var target = (submitter && submitter.getAttribute('formtarget')) || form.getAttribute('target');
    if (target && target !== '_self') return; // page stays; don't lock it

    // Defer: disabling the submitter synchronously would drop its name=value
    // from the submitted data (disabled controls are not serialised).
    window.setTimeout(function () {
      form.classList.add('is-submitting');
      submitButtonsOf(form).forEach(function (btn) {
        if (!btn.disabled) {
          btn.disabled = true;
          btn.setAttribute('data-guard-disabled', '');
        }
      });
    }, 0);
  });

  // Back/forward cache restores the page with buttons still disabled.
  window.addEventListener('pageshow', function (event) {
    if (!event.persisted) return;
    Array.prototype.forEach.call(document.querySelectorAll('[data-guard-disabled]'), function (btn) {
      btn.disabled = false;
      btn.removeAttribute('data-guard-disabled');
    });
    Array.prototype.forEach.call(document.querySelectorAll('form.is-submitting, form.is-uploading'), function (form) {
      form.classList.remove('is-submitting', 'is-uploading');
    });
  });

  function startUpload(form, submitter) {
    if (form.classList.contains('is-uploading')) return; // already in flight

    var progress = form.querySelector('progress.upload-progress');
    var status = form.querySelector('[data-upload-status]') || document.querySelector('[data-upload-status]');
    var buttons = submitButtonsOf(form);

    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);

    var action = formAction(form, submitter);

    function setStatus(text) {
      if (status) status.textContent = text;
    }

    function fail(message) {
      form.classList.remove('is-uploading');
      buttons.forEach(function (btn) { btn.disabled = false; });
      if (progress) { progress.max = 100; progress.value = 0; }
      setStatus(message);
      if (status) status.classList.add('text-danger');
    }

    form.classList.add('is-uploading');
    buttons.forEach(function (btn) { btn.disabled = true; });
    if (status) status.classList.remove('text-danger');
    if (progress) { progress.max = 100; progress.value = 0; }
    setStatus('上传中 0%');

    var xhr = new XMLHttpRequest();
    xhr.open('POST', action, true);
    xhr.setRequestHeader('Accept', 'text/html');
    xhr.setRequestHeader('X-Requested-With', 'XMLHttpRequest');

    var processing = false;
    function showProcessing() {
      if (processing) return;
      processing = true;
      if (progress) progress.removeAttribute('value'); // indeterminate while the server works
      setStatus('正在校验并导入，请稍候…');
    }

    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable || e.total === 0) return;
      var pct = Math.min(100, Math.floor((e.loaded / e.total) * 100));
      if (pct >= 100) {
        showProcessing();
        return;
      }
      if (progress) progress.value = pct;
      setStatus('上传中 ' + pct + '%');
    };
    xhr.upload.onload = showProcessing;

    xhr.onload = function () {
      var hxRedirect = xhr.getResponseHeader('HX-Redirect');
      if (hxRedirect) {
        window.location.assign(new URL(hxRedirect, action).href);
        return;
      }
      if (xhr.responseURL && stripHash(xhr.responseURL) !== stripHash(action)) {
        // The server answered with a redirect that XHR followed.
        window.location.assign(xhr.responseURL);
        return;
      }
      var type = xhr.getResponseHeader('Content-Type') || '';
      if (xhr.responseText && type.indexOf('text/html') !== -1) {
        // Result page (success summary or validation errors) replaces this one.
        document.open();
        document.write(xhr.responseText);
        document.close();
        return;
      }
      if (xhr.status === 413) {
        fail('文件过大，无法上传。');
      } else if (xhr.status >= 200 && xhr.status < 300) {
        window.location.reload();
      } else {
        fail('上传失败（HTTP ' + xhr.status + '），请重试。');
      }
    };
    xhr.onerror = function () { fail('上传失败，请检查网络后重试。'); };
    xhr.onabort = function () { fail('上传已取消。'); };

    xhr.send(data);
  }

  // ------------------------------------------------------ 4. flash autohide

  function initAutohide(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var alerts = Array.prototype.slice.call(scope.querySelectorAll('.alert[data-autohide]'));
    if (scope.matches && scope.matches('.alert[data-autohide]')) alerts.push(scope);
    alerts.forEach(function (alert) {
      if (alert.hasAttribute('data-autohide-armed')) return;
      alert.setAttribute('data-autohide-armed', '');
      var ms = parseInt(alert.getAttribute('data-autohide'), 10);
      if (!(ms > 0)) ms = AUTOHIDE_MS;
      window.setTimeout(function hide() {
        // Wait while the user is reading / interacting with it.
        if (alert.matches(':hover') || alert.contains(document.activeElement)) {
          window.setTimeout(hide, 1000);
          return;
        }
        alert.classList.add('is-hiding');
        var removed = false;
        var remove = function () {
          if (removed) return;
          removed = true;
          if (alert.parentNode) alert.parentNode.removeChild(alert);
        };
        alert.addEventListener('transitionend', remove);
        window.setTimeout(remove, 800); // no transition (reduced motion / print)
      }, ms);
    });
  }

  // ------------------------------------------------------- 5. copy helper

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-HTTP intranet fallback.
    return new Promise(function (resolve, reject) {
      var ta = document.createElement('textarea');
      ta.value = text;
      ta.setAttribute('readonly', '');
      ta.style.position = 'fixed';
      ta.style.top = '-1000px';
      ta.style.opacity = '0';
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
      document.body.removeChild(ta);
      if (ok) resolve(); else reject(new Error('copy failed'));
    });
  }

  var copyTimers = new WeakMap();

  document.addEventListener('click', function (event) {
    var btn = closestFromEvent(event, 'button[data-copy]');
    if (!btn) return;
    event.preventDefault();
    var source = document.getElementById(btn.getAttribute('data-copy'));
    if (!source) return;
    var text = ('value' in source && (source.tagName === 'INPUT' || source.tagName === 'TEXTAREA'))
      ? source.value
      : source.textContent;
    text = text.trim();

    // Label: a [data-copy-label] child if present (keeps icons), else the button.
    var label = btn.querySelector('[data-copy-label]') || btn;

    function flash(message) {
      var state = copyTimers.get(btn);
      if (state) {
        window.clearTimeout(state.timer);
      } else {
        state = { nodes: Array.prototype.slice.call(label.childNodes) };
      }
      label.textContent = message;
      state.timer = window.setTimeout(function () {
        label.textContent = '';
        state.nodes.forEach(function (n) { label.appendChild(n); });
        copyTimers.delete(btn);
      }, COPIED_MS);
      copyTimers.set(btn, state);
    }

    copyText(text).then(function () { flash('已复制'); }, function () { flash('复制失败'); });
  });

  // ------------------------------------------------------------------ menu

  document.addEventListener('click', function (event) {
    var btn = closestFromEvent(event, 'button[data-bs-toggle="collapse"][data-bs-target]');
    if (!btn) return;
    var target = document.querySelector(btn.getAttribute('data-bs-target'));
    if (!target) return;
    event.preventDefault();
    var open = target.classList.toggle('show');
    btn.setAttribute('aria-expanded', open ? 'true' : 'false');
  });

  // --------------------------------------- 7. a long export shows it is working
  // a[data-download]: fetched here instead of followed, the link reads "正在生成…
  // 已用 N 秒" while the server builds the file and "正在下载 x MB" as it arrives,
  // then the file is saved under the server's name. A failed export says so.

  function downloadName(resp) {
    var cd = resp.headers.get('Content-Disposition') || '';
    var m = /filename\*=UTF-8''([^;]+)/i.exec(cd);
    if (m) { try { return decodeURIComponent(m[1]); } catch (e) { /* fall through */ } }
    return 'export.xlsx';
  }

  document.addEventListener('click', function (event) {
    var link = closestFromEvent(event, 'a[data-download]');
    if (!link || !window.fetch || !window.URL || !URL.createObjectURL) return;
    event.preventDefault();
    if (link.classList.contains('is-downloading')) return;
    var label = link.innerHTML;
    var started = Date.now();
    link.classList.add('is-downloading', 'disabled');
    link.setAttribute('aria-busy', 'true');
    function say(text) { link.textContent = text; }
    var timer = window.setInterval(function () {
      say('正在生成 Excel，已用 ' + Math.round((Date.now() - started) / 1000) + ' 秒…');
    }, 1000);
    say('正在生成 Excel…');
    function done() {
      window.clearInterval(timer);
      link.classList.remove('is-downloading', 'disabled');
      link.removeAttribute('aria-busy');
      link.innerHTML = label;
    }
    fetch(link.href, { credentials: 'same-origin' }).then(function (resp) {
      if (!resp.ok) throw new Error('HTTP ' + resp.status);
      var name = downloadName(resp);
      var total = Number(resp.headers.get('Content-Length')) || 0;
      if (!resp.body || !resp.body.getReader) return resp.blob().then(function (b) { return [b, name]; });
      var reader = resp.body.getReader();
      var parts = [];
      var got = 0;
      window.clearInterval(timer);
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) return [new Blob(parts), name];
          parts.push(r.value);
          got += r.value.length;
          say('正在下载 ' + (got / 1048576).toFixed(1) + (total ? ' / ' + (total / 1048576).toFixed(1) : '') + ' MB…');
          return pump();
        });
      }
      return pump();
    }).then(function (res) {
      var url = URL.createObjectURL(res[0]);
      var a = document.createElement('a');
      a.href = url;
      a.download = res[1];
      document.body.appendChild(a);
      a.click();
      a.remove();
      window.setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      done();
    }).catch(function (e) {
      done();
      window.alert('导出失败（' + e.message + '），请稍后重试。');
    });
  });

  // ------------------------------------------- 6. a wide table opens on "now"
  // [data-scroll-here] inside .table-responsive: the year grid scrolls to the current
  // month on a narrow screen instead of opening on January.

  function scrollToHere(root) {
    var scope = root && root.querySelectorAll ? root : document;
    Array.prototype.forEach.call(scope.querySelectorAll('[data-scroll-here]'), function (cell) {
      var box = cell.closest('.table-responsive');
      if (!box || box.scrollWidth <= box.clientWidth) return;
      var first = box.querySelector('th');
      var offset = first ? first.offsetWidth : 0;
      box.scrollLeft = Math.max(0, cell.offsetLeft - offset);
    });
  }

  // ------------------------------------------------------------------ init

  // defer: the document is parsed already.
  initAutohide(document);
  scrollToHere(document);
  // Content swapped in by htmx.
  document.addEventListener('htmx:load', function (event) { initAutohide(event.target); });
})();
