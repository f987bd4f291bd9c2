// An HTML listing of a directory, for --listing. Every name is escaped for
// HTML and percent-encoded in links.

export interface ListingEntry {
  name: string;
  isDirectory: boolean;
}

export function renderListing(urlPath: string, entries: ListingEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.isDirectory === b.isDirectory ? a.name.localeCompare(b.name) : a.isDirectory ? -1 : 1));
  const title = escapeHtml(decodeForTitle(urlPath));
  const rows = sorted.map((e) => {
    const slash = e.isDirectory ? '/' : '';
    return `<li><a href="${encodeURIComponent(e.name)}${slash}">${escapeHtml(e.name)}${slash}</a></li>`;
  });
  if (urlPath !== '/') rows.unshift('<li><a href="../">../</a></li>');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Index of ${title}</title></head>` +
    `<body><h1>Index of ${title}</h1><ul>\n${rows.join('\n')}\n</ul></body></html>\n`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function decodeForTitle(urlPath: string): string {
  try {
    return decodeURIComponent(urlPath);
  } catch {
    return urlPath;
  }
}
