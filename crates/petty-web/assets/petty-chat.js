// The chat page (`/chat`): a question is answered over server-sent events from
// `/chat/answer?q=...` (events `line`, `link`, `done`, `failed`), each line shown as it comes.
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
    source.addEventListener('line', function (e) {
      answer.appendChild(el('p', '', e.data));
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
