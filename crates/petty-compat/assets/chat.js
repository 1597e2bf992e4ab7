// The PetStore seed's chat page, served by Petty at /compat/petstore/. It signs in with a Petty
// account (the token kept in this tab's sessionStorage only), then calls the profile's MCP
// gateway as the seed's page called its own: `tools/call` of ListPets, AddPet or QueryPets, by
// upstream's routing rules, fixed. Every value from the server is inserted as text, never HTML.
(function () {
  'use strict';

  var KEY = 'petstore-token';
  var TYPES = ['guinea pig', 'dog', 'cat', 'bird', 'fish', 'hamster', 'rabbit', 'turtle', 'lizard', 'frog'];
  var signin = document.getElementById('signin');
  var chat = document.getElementById('chat');
  var messages = document.getElementById('messages');

  function show(signedIn) {
    signin.hidden = signedIn;
    chat.hidden = !signedIn;
    (signedIn ? document.getElementById('message') : document.getElementById('email')).focus();
  }

  function say(text, who) {
    var p = document.createElement('div');
    p.className = 'message ' + who;
    p.textContent = text;
    messages.appendChild(p);
    p.scrollIntoView({ block: 'end' });
  }

  document.getElementById('signin-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var error = document.getElementById('signin-error');
    error.textContent = '';
    fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: document.getElementById('email').value,
        password: document.getElementById('password').value
      })
    })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (r) {
        if (r.ok && r.body.access_token) {
          sessionStorage.setItem(KEY, r.body.access_token);
          document.getElementById('password').value = '';
          show(true);
        } else if (r.body && r.body.mfa_required) {
          error.textContent = 'This account signs in with a second step: sign in on the dashboard instead.';
        } else {
          error.textContent = (r.body && r.body.error && r.body.error.message) || 'Sign-in failed.';
        }
      })
      .catch(function () { error.textContent = 'Petty could not be reached.'; });
  });

  document.getElementById('signout').addEventListener('click', function () {
    sessionStorage.removeItem(KEY);
    messages.textContent = '';
    show(false);
  });

  var calls = 0;
  function callTool(name, args) {
    calls += 1;
    return fetch('/compat/petstore/mcp', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + sessionStorage.getItem(KEY) },
      body: JSON.stringify({ jsonrpc: '2.0', id: calls, method: 'tools/call', params: { name: name, arguments: args } })
    }).then(function (r) {
      if (r.status === 401) {
        sessionStorage.removeItem(KEY);
        show(false);
        throw new Error('signed out');
      }
      return r.json();
    }).then(function (answer) {
      if (answer.error) {
        throw new Error(answer.error.message);
      }
      var body = JSON.parse(answer.result.content[0].text);
      if (answer.result.isError) {
        throw new Error(body.error || 'The store refused that.');
      }
      return body;
    });
  }

  // Upstream's rules: "add" (a word, not "address") adds a pet; at most three words with
  // "list" or "all" and no price or comparison word lists them; anything else is a query.
  function route(text) {
    var words = text.toLowerCase().match(/[a-z0-9$:]+/g) || [];
    if (words.indexOf('add') >= 0) {
      return 'add';
    }
    var comparing = ['costlier', 'cheaper', 'expensive', 'under', 'over'].some(function (w) { return words.indexOf(w) >= 0; });
    if (words.length <= 3 && (words.indexOf('list') >= 0 || words.indexOf('all') >= 0) && !comparing) {
      return 'list';
    }
    return 'query';
  }

  function after(text, pattern) {
    var m = text.match(pattern);
    return m ? m[1].trim() : null;
  }

  function petFromMessage(text) {
    var lower = text.toLowerCase();
    var name = after(text, /(?:named|called)\s+([^\s,.;]+)/i) || after(text, /name:\s*([^,;]+?)(?:\s+\w+:|[,;]|$)/i);
    var type = TYPES.filter(function (t) { return new RegExp('\\b' + t + '\\b').test(lower); })[0];
    if (!type) {
      return { error: '❌ Invalid pet type. We only accept:\n• dog, cat, bird, fish\n• hamster, rabbit, turtle\n• guinea pig, lizard, frog' };
    }
    if (!name) {
      return { error: 'Please include pet name: "Add a dog named Max..."' };
    }
    var breed = after(text, /breed:\s*([^,;]+?)(?:\s+\w+:|[,;]|$)/i) || 'Mixed';
    var age = after(text, /age:\s*(\d+)/i);
    var price = after(text, /price:\s*\$?\s*(\d+(?:\.\d+)?)/i) || after(text, /\$\s*(\d+(?:\.\d+)?)/);
    return { pet: { name: name, type: type, breed: breed, age: age ? Number(age) : 1, price: price ? Number(price) : 100 } };
  }

  function money(n) {
    return '$' + (Number.isInteger(n) ? n : Number(n).toFixed(2));
  }

  function bound(b, unit, prefix) {
    var parts = [];
    if (b.lt !== undefined) { parts.push('under ' + prefix + b.lt + unit); }
    if (b.lte !== undefined) { parts.push('up to ' + prefix + b.lte + unit); }
    if (b.gt !== undefined) { parts.push('over ' + prefix + b.gt + unit); }
    if (b.gte !== undefined) { parts.push('from ' + prefix + b.gte + unit); }
    return parts.join(', ');
  }

  var SORTS = { price_asc: 'cheapest first', price_desc: 'most expensive first', age_asc: 'youngest first',
    age_desc: 'oldest first', name: 'by name', newest: 'newest first' };

  function filtersInWords(f) {
    var parts = [];
    (f.species || []).forEach(function (s) { parts.push(s); });
    (f.exclude_species || []).forEach(function (s) { parts.push('not ' + s); });
    (f.breeds || []).forEach(function (s) { parts.push(s); });
    (f.exclude_breeds || []).forEach(function (s) { parts.push('not ' + s); });
    (f.colors || []).forEach(function (s) { parts.push(s); });
    (f.exclude_colors || []).forEach(function (s) { parts.push('not ' + s); });
    if (f.sex) { parts.push(f.sex); }
    if (f.name) { parts.push('named ' + f.name); }
    if (f.price) { parts.push(bound(f.price, '', '$')); }
    if (f.age_years) { parts.push('age ' + bound(f.age_years, ' years', '')); }
    if (f.sort_by) { parts.push(SORTS[f.sort_by] || f.sort_by); }
    return parts.join(' · ');
  }

  function petLine(p) {
    var age = p.age_months !== undefined && p.age_months < 12 ? p.age_months + ' months' : (p.age === null ? 'unknown' : p.age + ' years');
    var price = p.price === null ? 'on request' : money(p.price);
    return '🐾 ' + p.name + ' - ' + p.type + ' (' + p.breed + ')\n   Age: ' + age + ' | Price: ' + price;
  }

  function listReply(pets, count, source, filters, query) {
    if (!pets.length) {
      return 'No pets found matching: "' + query + '"';
    }
    var head = pets.length < count ? 'Showing ' + pets.length + ' of ' + count + ' pets'
      : 'Found ' + count + (count === 1 ? ' pet' : ' pets');
    head += source === 'llm' ? ' (🤖 AI)' : ' (🔎 smart search)';
    var lines = [head];
    var words = filters ? filtersInWords(filters) : '';
    if (words) { lines.push(words); }
    pets.forEach(function (p) { lines.push(petLine(p)); });
    if (pets.length < count) { lines.push('(' + (count - pets.length) + ' more available)'); }
    return lines.join('\n');
  }

  document.getElementById('chat-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var input = document.getElementById('message');
    var text = input.value.trim();
    if (!text) { return; }
    input.value = '';
    say(text, 'user');
    var kind = route(text);
    var done;
    if (kind === 'add') {
      var parsed = petFromMessage(text);
      if (parsed.error) {
        say(parsed.error, 'bot');
        return;
      }
      done = callTool('PetStoreTarget___AddPet', parsed.pet).then(function (p) {
        return '✅ Added ' + p.name + ' the ' + p.type + ' (' + p.breed + ', ID ' + p.id + ') at ' + money(p.price) + '.';
      });
    } else if (kind === 'list') {
      done = callTool('PetStoreTarget___ListPets', {}).then(function (pets) {
        return listReply(pets.slice(0, 10), pets.length, 'parser', null, text);
      });
    } else {
      done = callTool('PetStoreTarget___QueryPets', { query: text }).then(function (r) {
        return listReply(r.pets, r.count, r.filters_applied.source, r.filters_applied, text);
      });
    }
    done.then(function (reply) { say(reply, 'bot'); }, function (e) {
      if (e.message !== 'signed out') { say('⚠️ ' + e.message, 'bot'); }
    });
  });

  show(Boolean(sessionStorage.getItem(KEY)));
})();
