// The demo's pages. The hello page is byte for byte what the benchmark anchors serve.

export const HELLO_PAGE =
  '<!doctype html><html><head><title>hello</title></head><body><p>Hello, world!</p></body></html>\n';

export const NOT_FOUND_PAGE =
  '<!doctype html><html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1><p>Spindle has nothing at this address.</p></body></html>\n';
