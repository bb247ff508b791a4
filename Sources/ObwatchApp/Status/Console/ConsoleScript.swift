/// The console's script: polls the status API every two seconds and renders it with DOM nodes whose text is set by
/// `textContent` only (agent and user text is never parsed as markup); writes send the tab's write token.
enum ConsoleScript {
    static let source = #"""
        'use strict';
        (function () {
          const pollMilliseconds = 2000;
          const keptEvents = 200;
          const shownEvents = 60;
          const state = { next: null, events: [], incidents: new Map(), acknowledged: new Set() };

          function byId(id) { return document.getElementById(id); }

          // Control characters (a bell, an escape sequence) become visible \xNN text instead of acting.
          function visible(value) {
            if (value === undefined || value === null) { return ''; }
            return String(value).replace(/[\u0000-\u001f\u007f-\u009f]/g, function (c) {
              return '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0');
            });
          }

          // The only way text reaches the page: textContent, never parsed as markup.
          function node(tag, className, text) {
            const element = document.createElement(tag);
            if (className) { element.className = className; }
            if (text !== undefined && text !== null) { element.textContent = visible(text); }
            return element;
          }

          function token(kind) { return sessionStorage.getItem('obwatch.' + kind + '-token') || ''; }

          function authorization(kind) {
            const value = token(kind);
            return value ? { Authorization: 'Bearer ' + value } : {};
          }

          async function read(path) {
            const answer = await fetch(path, { headers: authorization('read'), cache: 'no-store' });
            if (answer.status === 404) { return null; }
            if (!answer.ok) { throw new Error(path + ': HTTP ' + answer.status + await reason(answer)); }
            return answer.json();
          }

          async function write(method, path, body) {
            const headers = Object.assign({ 'Content-Type': 'application/json' }, authorization('write'));
            const answer = await fetch(path, {
              method: method, headers: headers, cache: 'no-store',
              body: body === undefined ? undefined : JSON.stringify(body)
            });
            if (!answer.ok) { throw new Error('HTTP ' + answer.status + await reason(answer)); }
            return answer.json();
          }

          async function reason(answer) {
            try {
              const object = await answer.json();
              return object && object.error ? ': ' + object.error : '';
            } catch (error) {
              return '';
            }
          }

          function duration(seconds) {
            if (seconds === undefined || seconds === null) { return ''; }
            let left = Math.max(0, Math.floor(seconds));
            const days = Math.floor(left / 86400); left -= days * 86400;
            const hours = Math.floor(left / 3600); left -= hours * 3600;
            const minutes = Math.floor(left / 60); left -= minutes * 60;
            if (days > 0) { return days + 'd' + String(hours).padStart(2, '0') + 'h'; }
            if (hours > 0) { return hours + 'h' + String(minutes).padStart(2, '0') + 'm'; }
            if (minutes > 0) { return minutes + 'm' + String(left).padStart(2, '0') + 's'; }
            return left + 's';
          }

          // `2h`, `30m`, `1d12h`, `90s`: milliseconds, or NaN.
          function parseDuration(text) {
            const units = { d: 86400000, h: 3600000, m: 60000, s: 1000 };
            const trimmed = String(text).trim();
            if (!/^(\d+[dhms])+$/.test(trimmed)) { return NaN; }
            let total = 0;
            for (const part of trimmed.match(/\d+[dhms]/g)) {
              total += parseInt(part, 10) * units[part[part.length - 1]];
            }
            return total;
          }

          function setResult(id, text, failed) {
            const element = byId(id);
            element.textContent = visible(text);
            element.classList.toggle('error', !!failed);
          }

          function renderTargets(targets, dags) {
            const names = (targets || []).map(function (target) { return target.name; });
            for (const dag of dags) { if (!names.includes(dag.target)) { names.push(dag.target); } }
            const health = new Map((targets || []).map(function (target) { return [target.name, target]; }));
            const cards = document.createDocumentFragment();
            for (const name of names) {
              const card = node('article', 'card target');
              card.dataset.target = name;
              const head = node('div', 'card-head');
              head.append(node('h3', 'target-name', name), healthBadge(health.get(name)));
              card.append(head);
              const rows = dags.filter(function (dag) { return dag.target === name; });
              if (rows.length === 0) { card.append(node('p', 'hint', 'no DAG tracked')); }
              for (const dag of rows) { card.append(renderDag(dag)); }
              cards.append(card);
            }
            if (names.length === 0) { cards.append(node('p', 'hint', 'no target yet')); }
            byId('targets').replaceChildren(cards);
          }

          function healthBadge(target) {
            if (!target) { return node('span', 'health waiting', 'not in this replica\'s config'); }
            if (!target.polled) { return node('span', 'health waiting', 'not yet polled'); }
            if (target.last_poll === 'failed') {
              return node('span', 'health bad', 'failing (' + target.consecutive_failures + ' polls)');
            }
            return node('span', 'health ok', 'ok');
          }

          function renderDag(dag) {
            const row = node('div', 'dag');
            row.dataset.dag = dag.target + '/' + dag.id;
            const head = node('div', 'dag-head');
            head.append(node('span', 'dag-name', dag.name), node('span', 'badge ' + dag.state, dag.state));
            row.append(head);
            const bar = node('div', 'bar');
            const fill = node('div', 'fill ' + dag.state);
            const fraction = dag.max_stage > 0 ? Math.min(1, Math.max(0, dag.stage / dag.max_stage)) : 0;
            fill.style.width = (fraction * 100).toFixed(1) + '%';
            bar.setAttribute('role', 'progressbar');
            bar.setAttribute('aria-valuemin', '0');
            bar.setAttribute('aria-valuemax', String(dag.max_stage));
            bar.setAttribute('aria-valuenow', String(dag.stage));
            bar.append(fill);
            row.append(bar);
            const meta = node('div', 'meta');
            meta.append(node('span', 'stage', 'stage ' + dag.stage + ' of ' + dag.max_stage));
            if (dag.elapsed_seconds !== undefined) {
              meta.append(document.createTextNode(' · '), node('span', 'elapsed', duration(dag.elapsed_seconds)));
            }
            if (dag.stall_seconds > 0) {
              meta.append(document.createTextNode(' · no progress for ' + duration(dag.stall_seconds)));
            }
            if (dag.node) {
              meta.append(document.createTextNode(' · '),
                node('span', 'current-node', dag.node.name + ' (' + dag.node.state + ')'));
            }
            row.append(meta);
            if (dag.eta) { row.append(node('div', 'eta', dag.eta.text)); }
            if (dag.failed_node) {
              const text = 'failed at ' + dag.failed_node.name +
                (dag.failed_node.last_log ? ': ' + dag.failed_node.last_log : '');
              row.append(node('div', 'failure', text));
            }
            return row;
          }

          function remember(events) {
            for (const event of events) {
              state.events.push(event);
              if (event.status === 'firing') { state.incidents.set(event.incident, event); }
              if (event.status === 'resolved') {
                state.incidents.delete(event.incident);
                state.acknowledged.delete(event.incident);
              }
            }
            if (state.events.length > keptEvents) { state.events.splice(0, state.events.length - keptEvents); }
          }

          function routeText(event) {
            if (!event.routes || event.routes.length === 0) { return 'no rule matched'; }
            return event.routes.map(function (route) {
              const receivers = route.receivers.length ? route.receivers.join(', ') : 'nobody (silenced or muted)';
              return route.rule + ' → ' + receivers;
            }).join('; ');
          }

          function renderEvents() {
            const list = document.createDocumentFragment();
            const newest = state.events.slice(-shownEvents).reverse();
            for (const event of newest) {
              const item = node('li', 'event ' + event.type);
              item.dataset.type = event.type;
              item.append(node('span', 'when', event.at), node('span', 'type', event.type),
                node('span', 'event-target', event.target ? event.target.name : ''));
              if (event.dag) { item.append(node('span', 'event-dag', event.dag.name)); }
              item.append(node('span', 'summary', event.summary), node('span', 'route', routeText(event)));
              list.append(item);
            }
            if (newest.length === 0) { list.append(node('li', 'empty', 'no event yet')); }
            byId('events').replaceChildren(list);
          }

          function renderIncidents() {
            const list = document.createDocumentFragment();
            for (const [incident, event] of state.incidents) {
              const item = node('li', 'incident');
              item.dataset.incident = incident;
              item.append(node('span', 'type', event.type), node('span', 'incident-id', incident),
                node('span', 'when', 'since ' + event.at), node('span', 'summary', event.summary));
              if (event.sentTo && event.sentTo.length) { item.append(node('span', 'route', 'sent to ' + event.sentTo.join(', '))); }
              if (event.nextReminder) { item.append(node('span', 'route', 'next reminder ' + event.nextReminder)); }
              const button = node('button', 'ack', state.acknowledged.has(incident) ? 'Acknowledged' : 'Acknowledge');
              button.type = 'button';
              button.disabled = state.acknowledged.has(incident);
              button.addEventListener('click', function () { acknowledge(incident); });
              item.append(button);
              list.append(item);
            }
            if (state.incidents.size === 0) { list.append(node('li', 'empty', 'none open')); }
            byId('incidents').replaceChildren(list);
          }

          function renderSilences(silences) {
            const section = byId('silences-section');
            section.hidden = silences === null;
            if (silences === null) { return; }
            const list = document.createDocumentFragment();
            const shown = silences.filter(function (silence) { return silence.status.state !== 'expired'; });
            for (const silence of shown) {
              const item = node('li', 'silence');
              item.dataset.silence = silence.id;
              const matchers = silence.matchers.map(function (m) { return m.name + '=' + m.value; }).join(', ');
              item.append(node('span', 'type', silence.status.state), node('span', 'matchers', matchers),
                node('span', 'when', 'until ' + silence.endsAt), node('span', 'comment', silence.comment),
                node('span', 'author', 'by ' + silence.createdBy));
              const button = node('button', 'expire', 'Expire');
              button.type = 'button';
              button.addEventListener('click', function () { expire(silence.id); });
              item.append(button);
              list.append(item);
            }
            if (shown.length === 0) { list.append(node('li', 'empty', 'no active silence')); }
            byId('silences').replaceChildren(list);
          }

          function author() { return byId('author').value.trim(); }

          async function createSilence(submitted) {
            submitted.preventDefault();
            const matchers = [];
            const add = function (name, id) {
              const value = byId(id).value.trim();
              if (value) { matchers.push({ name: name, value: value, isRegex: false, isEqual: true }); }
            };
            add('target', 'silence-target');
            add('dag', 'silence-dag');
            for (const type of byId('silence-event').value.split(',')) {
              if (type.trim()) { matchers.push({ name: 'event', value: type.trim(), isRegex: false, isEqual: true }); }
            }
            const label = byId('silence-label').value.trim();
            if (label) {
              const equals = label.indexOf('=');
              if (equals < 1) { setResult('silence-result', 'a label matcher reads KEY=VALUE', true); return; }
              matchers.push({ name: 'label:' + label.slice(0, equals).trim(), value: label.slice(equals + 1).trim(),
                isRegex: false, isEqual: true });
            }
            const milliseconds = parseDuration(byId('silence-for').value);
            if (!(milliseconds > 0)) { setResult('silence-result', 'For reads like 2h, 30m or 1d12h', true); return; }
            const body = {
              matchers: matchers,
              endsAt: new Date(Date.now() + milliseconds).toISOString(),
              createdBy: author(),
              comment: byId('silence-comment').value.trim()
            };
            setResult('silence-result', 'sending…', false);
            try {
              const answer = await write('POST', '/api/v2/silences', body);
              setResult('silence-result', 'silence ' + answer.silenceID + ' created', false);
              await refresh();
            } catch (error) {
              setResult('silence-result', 'not created: ' + error.message, true);
            }
          }

          async function expire(id) {
            try {
              await write('DELETE', '/api/v2/silence/' + encodeURIComponent(id) +
                '?author=' + encodeURIComponent(author() || 'web console'));
              setResult('silence-result', 'silence ' + id + ' expired', false);
              await refresh();
            } catch (error) {
              setResult('silence-result', 'not expired: ' + error.message, true);
            }
          }

          async function acknowledge(incident) {
            try {
              await write('POST', '/api/v2/acks', { incident: incident, author: author() });
              state.acknowledged.add(incident);
              setResult('ack-result', incident + ' acknowledged', false);
              renderIncidents();
            } catch (error) {
              setResult('ack-result', 'not acknowledged: ' + error.message, true);
            }
          }

          async function refresh() {
            const since = state.next === null ? '' : '?since=' + state.next;
            const [targets, dags, page, silences, incidents] = await Promise.all([
              read('/api/v1/targets'), read('/api/v1/dags'), read('/api/v1/events' + since), read('/api/v2/silences'),
              read('/api/v1/incidents')
            ]);
            renderTargets(targets, dags || []);
            if (page) {
              remember(page.events);
              state.next = page.next;
            }
            // The router's own list when the server has one; otherwise what this page saw fire and not resolve.
            if (incidents) {
              state.incidents = new Map();
              state.acknowledged = new Set();
              for (const open of incidents) {
                const event = Object.assign({ type: '', at: '', summary: open.incident }, open.event || {});
                event.sentTo = open.receivers;
                event.nextReminder = open.next_reminder;
                state.incidents.set(open.incident, event);
                if (open.acknowledged) { state.acknowledged.add(open.incident); }
              }
            }
            renderEvents();
            renderIncidents();
            renderSilences(silences);
          }

          async function poll() {
            const status = byId('status');
            try {
              await refresh();
              status.textContent = 'updated ' + new Date().toLocaleTimeString();
              status.classList.remove('error');
              document.body.dataset.loaded = 'true';
            } catch (error) {
              status.textContent = visible('cannot read the status API: ' + error.message);
              status.classList.add('error');
            }
            setTimeout(poll, pollMilliseconds);
          }

          function keepField(id, key) {
            const input = byId(id);
            input.value = sessionStorage.getItem(key) || input.value;
            input.addEventListener('input', function () { sessionStorage.setItem(key, input.value); });
          }

          document.addEventListener('DOMContentLoaded', function () {
            keepField('write-token', 'obwatch.write-token');
            keepField('read-token', 'obwatch.read-token');
            keepField('author', 'obwatch.author');
            byId('silence-form').addEventListener('submit', createSilence);
            poll();
          });
        })();

        """#
}
