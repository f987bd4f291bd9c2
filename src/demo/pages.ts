// The demo's pages. The hello page is byte for byte what the benchmark anchors serve.

export const HELLO_PAGE =
  '<!doctype html><html><head><title>hello</title></head><body><p>Hello, world!</p></body></html>\n';

export const NOT_FOUND_PAGE =
  '<!doctype html><html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1><p>Spindle has nothing at this address.</p></body></html>\n';

/**
 * GET /events/page: reads /events (with this page's query) through an
 * EventSource and lists each event with the time it arrived; the events
 * it got are in `window.events`, and `document.title` says `done N` once
 * the stream has ended.
 */
export const EVENTS_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>events</title></head>
<body><h1>Server-sent events</h1><ol id="events"></ol>
<script>
const list = document.getElementById('events');
const start = performance.now();
window.events = [];
const source = new EventSource('/events' + location.search);
source.onmessage = (event) => {
  const at = Math.round(performance.now() - start);
  window.events.push({ data: event.data, at });
  const item = document.createElement('li');
  item.textContent = event.data + ' at ' + at + ' ms';
  list.append(item);
};
source.addEventListener('end', () => {
  source.close();
  document.title = 'done ' + window.events.length;
  document.body.dataset.events = JSON.stringify(window.events);
});
</script></body></html>
`;
