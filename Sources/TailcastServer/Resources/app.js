// Minimal live view: connects to /ws with the page's query string and prints lines.
const log = document.getElementById('log');
const status = document.getElementById('status');
const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${location.search}`);
ws.onopen = () => { status.textContent = 'connected'; };
ws.onclose = (e) => { status.textContent = `closed (${e.code})`; };
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  if (m.type === 'lines') {
    for (const l of m.lines) {
      const div = document.createElement('div');
      div.className = 'line';
      div.textContent = `${l.source} ${l.text}`;
      log.appendChild(div);
    }
  } else if (m.type === 'dropped' || m.type === 'event' || m.type === 'error') {
    const div = document.createElement('div');
    div.className = 'marker';
    div.textContent = JSON.stringify(m);
    log.appendChild(div);
  }
};
