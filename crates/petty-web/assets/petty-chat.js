// The chat page (`/chat`): a question is answered over server-sent events from
// `/chat/answer?q=...` (events `text`, `line`, `tool`, `link`, `done`, `failed`), shown as they
// come: `text` is a piece of the language model's answer, joined to the piece before it (a blank
// line starts a new paragraph); `line` is a whole paragraph; `tool` names a tool the model used.
// Every value is inserted as text, never as HTML. Without this script the form posts and the
// server renders the answer.
(function () {
  'use strict';

  var form = document.getElementById('chat-form');
  var log = document.getElementById('chat-log');
  if (!form || !log || !('EventSource' in window)) {
    return;
  }
  var input = form.querySelector('input[name="q"]');
  var button = form.querySelector('button');

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  form.addEventListener('submit', function (event) {
    var q = input.value.trim();
    if (!q) {
      return;
    }
    event.preventDefault();
    log.appendChild(el('div', 'chat-question', q));
    var answer = el('div', 'chat-answer');
    answer.setAttribute('aria-busy', 'true');
    var links = null;
    var tools = null;
    var paragraph = null;
    log.appendChild(answer);
    button.disabled = true;
    var source = new EventSource(form.getAttribute('data-stream') + '?q=' + encodeURIComponent(q));
    function finish(intent) {
      source.close();
      answer.removeAttribute('aria-busy');
      if (intent) {
        answer.setAttribute('data-intent', intent);
      }
      button.disabled = false;
      input.value = '';
      input.focus();
    }
    source.addEventListener('text', function (e) {
      var parts = e.data.split(/\n\s*\n/);
      parts.forEach(function (part, i) {
        if (i > 0 || !paragraph) {
          paragraph = el('p', 'chat-text', '');
          answer.insertBefore(paragraph, links);
        }
        paragraph.textContent += i === 0 ? part : part.replace(/^\s+/, '');
      });
    });
    source.addEventListener('line', function (e) {
      paragraph = null;
      answer.insertBefore(el('p', '', e.data), links);
    });
    source.addEventListener('tool', function (e) {
      if (!tools) {
        tools = el('p', 'chat-tools', 'Looked at: ');
        answer.insertBefore(tools, answer.firstChild);
        tools.textContent += e.data;
      } else {
        tools.textContent += ', ' + e.data;
      }
      paragraph = null;
    });
    source.addEventListener('link', function (e) {
      var link;
      try {
        link = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      if (typeof link.href !== 'string' || link.href.charAt(0) !== '/') {
        return;
      }
      if (!links) {
        links = el('ul', 'chat-links');
        answer.appendChild(links);
      }
      var a = el('a', '', String(link.label));
      a.href = link.href;
      var item = el('li');
      item.appendChild(a);
      links.appendChild(item);
    });
    source.addEventListener('done', function (e) {
      finish(e.data);
    });
    source.addEventListener('failed', function (e) {
      answer.appendChild(el('p', 'hint', e.data));
      finish('failed');
    });
    source.onerror = function () {
      if (source.readyState !== EventSource.CLOSED && answer.getAttribute('aria-busy')) {
        answer.appendChild(el('p', 'hint', 'The answer was cut off. Ask again.'));
      }
      finish(null);
    };
  });
})();
