// Petty's live pages: the device list (/devices), a device's page (/devices/{id}), a pet's day
// (/pets/{id}), a person's life log (/life, on user:{id}:predictions, :events and :insights)
// and the alarms (/alarms, fetched again when one is raised or changes).
//
// Opens the WebSocket at /api/v1/ws with the session cookie, subscribes to the devices shown
// (device:{id}) and to the household's alarms (household:{id}:alarms), and updates in place
// what the server rendered: status, battery and last seen; on a device's page also the latest
// reading and the table of recent readings. The words, units and badge classes come from the
// page (`data-labels` on #live-status, written by pages/devices.rs), so they read exactly as
// the server writes them. If the socket closes it reconnects with backoff and then fetches
// the page once to catch up on what it missed; so it does when told that events were dropped
// for it or lost between Petty's nodes. Without this script the page is simply what
// the server rendered.
//
// Hand-written, no dependencies. The page's Content-Security-Policy allows scripts from
// 'self' only, without eval: this file builds elements and sets text, never HTML.
(function () {
  'use strict';

  var indicator = document.getElementById('live-status');
  if (!indicator || !('WebSocket' in window) || !('fetch' in window)) {
    return;
  }
  var labels;
  try {
    labels = JSON.parse(indicator.getAttribute('data-labels'));
  } catch (e) {
    return;
  }
  var page = indicator.getAttribute('data-live-page');
  var deviceId = indicator.getAttribute('data-device');
  var petId = indicator.getAttribute('data-pet');
  var userId = indicator.getAttribute('data-user');
  var alarmsTopic = 'household:' + indicator.getAttribute('data-household') + ':alarms';
  var socketPath = indicator.getAttribute('data-ws') || '/api/v1/ws';

  // ---- Building bits of the page as the server writes them ----

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) {
      node.append(child);
    });
    return node;
  }

  // Numbers as Rust's f64 Display writes them for the ranges readings have: 88, 38.5.
  function number(value) {
    return String(value);
  }

  // `2026-11-22T06:15:35Z` for `datetime`, `2026-11-22 06:15:35 UTC` for people.
  function utc(ms) {
    var machine = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { machine: machine, human: machine.replace('T', ' ').replace('Z', ' UTC') };
  }

  function ago(ms) {
    var words = labels.ago;
    var secs = Math.trunc((Date.now() - ms) / 1000);
    if (secs < words.just_now_below) {
      return words.just_now;
    }
    var steps = words.steps;
    var step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i].limit === null || secs < steps[i].limit) {
        step = steps[i];
        break;
      }
    }
    var n = Math.floor(secs / step.per);
    return n + ' ' + (n === 1 ? step.one : step.many) + words.suffix;
  }

  function agoText(time) {
    var ms = Date.parse(time.getAttribute('datetime'));
    if (isNaN(ms)) {
      return null;
    }
    if (time.getAttribute('data-ago') === 'exact') {
      return ago(ms) + ' (' + utc(ms).human + ')';
    }
    return ago(ms);
  }

  // A time as `when` (relative, exact in the tooltip) or `when_exactly` (both) write it.
  function timeElement(ms, kind) {
    var t = utc(ms);
    var attributes = { datetime: t.machine, 'data-ago': kind };
    if (kind === 'relative') {
      attributes.title = t.human;
    }
    var node = el('time', attributes);
    node.textContent = agoText(node);
    return node;
  }

  function refreshTimes() {
    document.querySelectorAll('time[data-ago]').forEach(function (time) {
      var text = agoText(time);
      if (text !== null && time.textContent !== text) {
        time.textContent = text;
      }
    });
  }

  function emptyCell() {
    return [el('span', { class: 'visually-hidden' }, [labels.none]), el('span', { 'aria-hidden': 'true' }, ['—'])];
  }

  function statusBadge(status) {
    var s = labels.statuses[status];
    return el('span', { class: 'badge ' + s.class }, [s.label]);
  }

  function lowBadge() {
    return el('strong', { class: 'badge badge-bad' }, [labels.battery_low]);
  }

  function batteryContent(pct) {
    var parts = [number(pct) + '%'];
    if (pct < labels.battery_low_below) {
      parts.push(' ', lowBadge());
    }
    return parts;
  }

  function setChildren(node, children) {
    node.replaceChildren.apply(node, children);
  }

  function metricsOf(reading) {
    return labels.columns.filter(function (name) {
      return labels.metrics[name] && typeof reading[name] === 'number';
    });
  }

  function locationText(location) {
    return number(location.lat) + ', ' + number(location.lon);
  }

  // ---- An accelerometer window, told as the server tells it (devices.rs `movement`) ----

  // Whether the reading carries the features every window has (newer ones may be missing).
  function hasAccel(reading) {
    var extra = reading.extra || {};
    return labels.accel.required.every(function (name) {
      return typeof extra[name] === 'number' && isFinite(extra[name]);
    });
  }

  // The extra numbers other than the window's features.
  function otherExtraKeys(reading) {
    var accel = hasAccel(reading);
    return Object.keys(reading.extra || {}).filter(function (key) {
      return !(accel && labels.accel.features.some(function (feature) {
        return feature[0] === key;
      }));
    });
  }

  // Two decimals, half away from zero, as Rust's f64::round.
  function rounded(value) {
    return (Math.sign(value) * Math.round(Math.abs(value) * 100)) / 100 + 0;
  }

  // One short line ("0.31 g · 2 Hz") with every feature behind it.
  function movement(reading) {
    var extra = reading.extra;
    var summary = labels.accel.summary;
    var list = el('dl', { class: 'movement-features' });
    labels.accel.features.forEach(function (feature) {
      if (typeof extra[feature[0]] !== 'number') {
        return;
      }
      var value = number(rounded(extra[feature[0]]));
      summary = summary.replace('{' + feature[0] + '}', value);
      list.append(el('dt', {}, [feature[1]]), el('dd', {}, [value + feature[2]]));
    });
    return el('details', { class: 'movement' }, [el('summary', {}, [summary]), list]);
  }

  // ---- What each field shows ----

  // Sets a status field's badge; answers whether the status changed.
  function setStatus(field, status) {
    if (!field || !labels.statuses[status]) {
      return false;
    }
    var badge = field.querySelector('.badge');
    var wanted = labels.statuses[status];
    if (badge && badge.textContent === wanted.label) {
      return false;
    }
    var fresh = statusBadge(status);
    if (badge) {
      badge.replaceWith(fresh);
    } else {
      field.prepend(fresh);
    }
    var expected = field.querySelector('[data-live-expected]');
    if (expected && status !== 'never_seen') {
      expected.hidden = false;
    }
    return true;
  }

  function setLowBattery(field, low) {
    if (!field) {
      return;
    }
    var badge = field.querySelector('.badge-bad');
    if (low && !badge) {
      field.append(' ', lowBadge());
    } else if (!low && badge) {
      var before = badge.previousSibling;
      if (before && before.nodeType === Node.TEXT_NODE && before.textContent === ' ') {
        before.remove();
      }
      badge.remove();
    }
  }

  function newestOf(holder) {
    var value = holder && holder.getAttribute('data-newest-ts');
    return value === null || value === undefined || value === '' ? null : Number(value);
  }

  // A reading's time and arrival, in milliseconds; null when it cannot be read.
  function timesOf(reading) {
    var ts = Date.parse(reading.ts);
    var received = Date.parse(reading.received_at);
    if (isNaN(ts) || isNaN(received)) {
      return null;
    }
    return { ts: ts, received: received };
  }

  // What a reading changes on a row of the list or in the details of a device's page:
  // heard from now, so online; its battery if it is the newest; the newest event time.
  // Answers whether the status changed.
  function applyReading(holder, reading, times, timeKind) {
    var field = function (name) {
      return holder.querySelector('[data-live-field="' + name + '"]');
    };
    var changed = setStatus(field('status'), 'online');
    var newest = newestOf(holder);
    var isNewest = newest === null || times.ts >= newest;
    var battery = field('battery');
    if (battery && isNewest && typeof reading.battery_pct === 'number') {
      setChildren(battery, batteryContent(reading.battery_pct));
    }
    var seen = field('last-seen');
    if (seen) {
      setChildren(seen, [timeElement(times.received, timeKind)]);
    }
    if (isNewest) {
      holder.setAttribute('data-newest-ts', String(times.ts));
      var newestField = field('newest');
      if (newestField) {
        setChildren(newestField, [timeElement(times.ts, 'exact')]);
      }
    }
    return { statusChanged: changed, isNewest: isNewest };
  }

  // ---- The device's page ----

  function latestDetails(reading, times) {
    var list = el('dl', { class: 'details panel' });
    metricsOf(reading).forEach(function (name) {
      var metric = labels.metrics[name];
      list.append(el('dt', {}, [metric.label]), el('dd', {}, [number(reading[name]) + metric.suffix]));
    });
    var location = reading.location;
    if (location && typeof location.lat === 'number' && typeof location.lon === 'number') {
      var text = locationText(location);
      if (typeof location.accuracy_m === 'number') {
        text += ' ' + labels.within[0] + number(location.accuracy_m) + labels.within[1];
      }
      list.append(el('dt', {}, [labels.location]), el('dd', {}, [text]));
    }
    if (hasAccel(reading)) {
      list.append(el('dt', {}, [labels.accel.label]), el('dd', {}, [movement(reading)]));
    }
    otherExtraKeys(reading).forEach(function (key) {
      list.append(el('dt', {}, [el('code', {}, [key])]), el('dd', {}, [number(reading.extra[key])]));
    });
    return [el('p', { class: 'lead' }, [labels.taken, timeElement(times.ts, 'exact')]), list];
  }

  function columnHeader(name) {
    var metric = labels.metrics[name];
    if (metric) {
      return el('th', { scope: 'col', 'data-col': name }, [metric.label, el('br'), el('span', { class: 'unit' }, [metric.unit])]);
    }
    if (name === 'accel') {
      return el('th', { scope: 'col', 'data-col': name }, [labels.accel.label, el('br'), el('span', { class: 'unit' }, [labels.accel.unit])]);
    }
    return el('th', { scope: 'col', 'data-col': name }, [name === 'location' ? labels.location : labels.extra]);
  }

  function blankCell(name) {
    return el('td', {}, name === 'extra' ? [] : emptyCell());
  }

  // Adds the columns a reading needs that the table does not have yet, in the server's order,
  // with an empty cell in every row already there.
  function ensureColumns(table, needed) {
    var headRow = table.tHead.rows[0];
    var order = labels.columns;
    needed.forEach(function (name) {
      var have = Array.prototype.map.call(headRow.cells, function (th) {
        return th.getAttribute('data-col');
      });
      if (have.indexOf(name) !== -1) {
        return;
      }
      var rank = order.indexOf(name);
      var at = have.filter(function (col) {
        return order.indexOf(col) < rank;
      }).length;
      headRow.insertBefore(columnHeader(name), headRow.cells[at] || null);
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        row.insertBefore(blankCell(name), row.cells[at] || null);
      });
    });
  }

  function readingRow(table, reading, times) {
    var t = utc(times.ts);
    var row = el('tr', { 'data-ts': String(times.ts), 'data-seq': String(typeof reading.seq === 'number' ? reading.seq : -1) });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      var name = th.getAttribute('data-col');
      if (name === 'ts') {
        row.append(el('th', { scope: 'row' }, [el('time', { datetime: t.machine }, [t.human])]));
      } else if (name === 'location') {
        var location = reading.location;
        row.append(el('td', {}, location ? [locationText(location)] : emptyCell()));
      } else if (name === 'accel') {
        row.append(el('td', {}, hasAccel(reading) ? [movement(reading)] : emptyCell()));
      } else if (name === 'extra') {
        var cell = el('td');
        otherExtraKeys(reading).forEach(function (key, i) {
          if (i > 0) {
            cell.append(', ');
          }
          cell.append(el('code', {}, [key]), ' ' + number(reading.extra[key]));
        });
        row.append(cell);
      } else {
        row.append(el('td', {}, typeof reading[name] === 'number' ? [number(reading[name])] : emptyCell()));
      }
    });
    return row;
  }

  // Newest first, by event time and then sequence number, as the server orders them.
  function isAfter(ts, seq, row) {
    var rowTs = Number(row.getAttribute('data-ts'));
    var rowSeq = Number(row.getAttribute('data-seq'));
    return ts > rowTs || (ts === rowTs && seq > rowSeq);
  }

  function addToTable(reading, times) {
    var section = document.getElementById('recent-readings');
    var table = section && section.querySelector('table');
    if (!table || !table.tHead || !table.tBodies[0]) {
      return;
    }
    var needed = metricsOf(reading);
    if (reading.location) {
      needed.push('location');
    }
    if (hasAccel(reading)) {
      needed.push('accel');
    }
    if (otherExtraKeys(reading).length > 0) {
      needed.push('extra');
    }
    ensureColumns(table, needed);
    var body = table.tBodies[0];
    var seq = typeof reading.seq === 'number' ? reading.seq : -1;
    var before = Array.prototype.find.call(body.rows, function (row) {
      return isAfter(times.ts, seq, row);
    });
    if (!before && body.rows.length >= labels.recent_max) {
      return; // Older than every reading shown.
    }
    body.insertBefore(readingRow(table, reading, times), before || null);
    while (body.rows.length > labels.recent_max) {
      body.deleteRow(body.rows.length - 1);
    }
    var caption = table.caption;
    if (caption) {
      var n = body.rows.length;
      caption.textContent = caption.getAttribute(n === 1 ? 'data-one' : 'data-many').replace('{n}', String(n));
    }
    section.hidden = false;
  }

  function onDeviceReading(reading) {
    var times = timesOf(reading);
    var details = document.getElementById('device-details');
    if (!times || !details) {
      return;
    }
    var applied = applyReading(details, reading, times, 'exact');
    var latest = document.querySelector('[data-live-latest]');
    if (latest && applied.isNewest) {
      setChildren(latest, latestDetails(reading, times));
    }
    addToTable(reading, times);
  }

  // ---- The list ----

  function rowOf(id) {
    var rows = document.querySelectorAll('tr[data-device-id]');
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute('data-device-id') === id) {
        return rows[i];
      }
    }
    return null;
  }

  function announce(row, status) {
    var announcer = document.getElementById('live-announcer');
    var name = row && row.querySelector('th');
    if (announcer && name && labels.statuses[status]) {
      announcer.textContent = name.textContent.trim() + ': ' + labels.statuses[status].label;
    }
  }

  function onListReading(id, reading) {
    var row = rowOf(id);
    var times = timesOf(reading);
    if (!row || !times) {
      return;
    }
    if (applyReading(row, reading, times, 'relative').statusChanged) {
      announce(row, 'online');
    }
  }

  // ---- Liveness and battery events ----

  var STATUS_OF_EVENT = { stale: 'stale', offline: 'offline', back_online: 'online' };

  function onAlarm(event) {
    if (!event || event.source !== 'device' || typeof event.device_id !== 'string') {
      return;
    }
    var holder;
    if (page === 'device') {
      holder = event.device_id === deviceId ? document.getElementById('device-details') : null;
    } else {
      holder = rowOf(event.device_id);
    }
    if (!holder) {
      return;
    }
    var status = STATUS_OF_EVENT[event.kind];
    if (status) {
      if (setStatus(holder.querySelector('[data-live-field="status"]'), status) && page === 'list') {
        announce(holder, status);
      }
    } else if (event.kind === 'battery_low' || event.kind === 'battery_ok') {
      setLowBattery(holder.querySelector('[data-live-field="battery"]'), event.kind === 'battery_low');
    }
  }

  // ---- The socket ----

  function topics() {
    if (page === 'life' && userId) {
      // A person's life log: their events, predictions and insights.
      return ['user:' + userId + ':predictions', 'user:' + userId + ':events', 'user:' + userId + ':insights'];
    }
    if (page === 'pet' && petId) {
      // A pet's page: its episodes, anomalies and fence events arrive on its own topic.
      return ['pet:' + petId];
    }
    var wanted = [alarmsTopic];
    if (page === 'device' && deviceId) {
      wanted.unshift('device:' + deviceId);
    } else {
      document.querySelectorAll('tr[data-device-id]').forEach(function (row) {
        wanted.unshift('device:' + row.getAttribute('data-device-id'));
      });
    }
    return wanted;
  }

  function onEvent(topic, data) {
    if (page === 'alarms') {
      // The server sorts and words the alarms; fetch them again.
      if (topic === alarmsTopic) {
        resync();
      }
      return;
    }
    if (page === 'life') {
      // The server renders the predictions, insights and events; fetch them again.
      if (topic.indexOf('user:' + userId + ':') === 0) {
        resync();
      }
      return;
    }
    if (page === 'pet') {
      // The server renders the timeline, score and charts; fetch them again.
      if (topic === 'pet:' + petId) {
        resync();
      }
      return;
    }
    if (topic === alarmsTopic) {
      onAlarm(data);
    } else if (topic.indexOf('device:') === 0 && data) {
      var id = topic.slice('device:'.length);
      if (page === 'device') {
        if (id === deviceId) {
          onDeviceReading(data);
        }
      } else {
        onListReading(id, data);
      }
    }
  }

  function showState(state) {
    indicator.hidden = false;
    indicator.setAttribute('data-state', state);
    indicator.classList.toggle('live-on', state === 'live');
    var text = indicator.querySelector('.live-text');
    var words = labels.indicator[state];
    if (text && text.textContent !== words) {
      text.textContent = words;
    }
  }

  // Fetches the page again and swaps in its live regions: after a reconnect, or when the
  // server says events were dropped, this is everything the socket missed.
  var resyncing = false;
  function resync() {
    if (resyncing) {
      return;
    }
    resyncing = true;
    fetch(window.location.href, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'text/html' } })
      .then(function (response) {
        if (!response.ok || response.redirected) {
          return null; // Signed out, or gone: leave the page as it is.
        }
        return response.text();
      })
      .then(function (text) {
        if (text === null) {
          return;
        }
        var fresh = new DOMParser().parseFromString(text, 'text/html');
        document.querySelectorAll('[data-live-region]').forEach(function (region) {
          var replacement = region.id && fresh.getElementById(region.id);
          if (replacement) {
            region.replaceWith(document.importNode(replacement, true));
          }
        });
        // Devices added meanwhile are in the list now: listen to them too (subscribing
        // twice to a topic is harmless).
        if (socket && socket.readyState === WebSocket.OPEN) {
          topics().forEach(function (topic) {
            socket.send(JSON.stringify({ type: 'subscribe', topic: topic }));
          });
        }
      })
      .catch(function () {
        // The page stays as it was; the next reading still updates it.
      })
      .then(function () {
        resyncing = false;
      });
  }

  var socket = null;
  var failures = 0;
  var everLive = false;
  var retryTimer = null;
  var leaving = false;

  function connect() {
    retryTimer = null;
    if (leaving) {
      return;
    }
    showState(everLive ? 'reconnecting' : 'connecting');
    var scheme = window.location.protocol === 'https:' ? 'wss://' : 'ws://';
    var ws;
    try {
      ws = new WebSocket(scheme + window.location.host + socketPath);
    } catch (e) {
      retry();
      return;
    }
    socket = ws;
    var pending = {};
    var waiting = 0;
    var settled = function (topic) {
      if (pending[topic]) {
        delete pending[topic];
        waiting -= 1;
        if (waiting === 0) {
          onLive();
        }
      }
    };
    ws.onopen = function () {
      topics().forEach(function (topic) {
        if (!pending[topic]) {
          pending[topic] = true;
          waiting += 1;
          ws.send(JSON.stringify({ type: 'subscribe', topic: topic }));
        }
      });
    };
    ws.onmessage = function (message) {
      var data;
      try {
        data = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      if (data.type === 'subscribed') {
        settled(data.topic);
      } else if (data.type === 'error' && data.topic) {
        // A device removed meanwhile, or past the per-connection limit: the rest still works.
        settled(data.topic);
      } else if (data.type === 'event' && typeof data.topic === 'string') {
        onEvent(data.topic, data.data);
      } else if (data.type === 'dropped' || data.type === 'gap') {
        // Events were dropped for this page, or lost between Petty's nodes: catch up.
        resync();
      }
    };
    ws.onclose = function () {
      if (socket === ws) {
        socket = null;
        retry();
      }
    };
  }

  function onLive() {
    var again = everLive;
    everLive = true;
    failures = 0;
    showState('live');
    if (again) {
      resync();
    }
  }

  // Waits longer after each failure, from about a second up to half a minute, with jitter so
  // that a restarted server is not met by every dashboard at once.
  function retry() {
    if (leaving || retryTimer !== null) {
      return;
    }
    showState('reconnecting');
    var ceiling = Math.min(30000, 1000 * Math.pow(2, failures));
    failures += 1;
    retryTimer = window.setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
  }

  // Leaving the page closes the socket (which keeps the back/forward cache usable); coming
  // back to it from that cache opens a new one.
  window.addEventListener('pagehide', function () {
    leaving = true;
    if (retryTimer !== null) {
      window.clearTimeout(retryTimer);
      retryTimer = null;
    }
    if (socket) {
      var closing = socket;
      socket = null;
      closing.close();
    }
  });
  window.addEventListener('pageshow', function (event) {
    if (event.persisted) {
      leaving = false;
      connect();
    }
  });

  // On the life log, a one-tap entry is sent without leaving the page: the socket then brings
  // the new event and the predictions it moved. If sending fails, the form is submitted as
  // usual, so the server's answer (an error page, a sign-in) is shown.
  if (page === 'life') {
    document.addEventListener('submit', function (event) {
      var form = event.target;
      if (!form || !form.hasAttribute || !form.hasAttribute('data-live-submit')) {
        return;
      }
      event.preventDefault();
      var buttons = form.querySelectorAll('button');
      buttons.forEach(function (b) { b.disabled = true; });
      fetch(form.action, {
        method: 'POST',
        credentials: 'same-origin',
        body: new URLSearchParams(new FormData(form)),
        headers: { accept: 'text/html' }
      })
        .then(function (response) {
          if (!response.ok || new URL(response.url).pathname !== '/life') {
            form.submit();
            return;
          }
          if (!socket || socket.readyState !== WebSocket.OPEN) {
            resync();
          }
        })
        .catch(function () {
          form.submit();
        })
        .then(function () {
          buttons.forEach(function (b) { b.disabled = false; });
        });
    });
  }

  window.setInterval(refreshTimes, 15000);
  connect();
})();
