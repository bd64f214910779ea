// Downloads of the server's CSV files: the file name the server gave
// (`Content-Disposition`), and handing a fetched body to the browser as a download.

/** The `filename` of a `Content-Disposition` header, else `fallback`. */
export function fileNameOf(header: string | null, fallback: string): string {
  if (!header) return fallback;
  const quoted = /filename="((?:[^"\\]|\\.)*)"/i.exec(header);
  if (quoted) return quoted[1].replace(/\\(.)/g, '$1');
  const bare = /filename=([^;\s]+)/i.exec(header);
  return bare ? bare[1] : fallback;
}

/** Saves `blob` as `name` through a temporary link (the token never goes in a URL). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
