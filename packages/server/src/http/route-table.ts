// Remembers which methods each path pattern serves, so a wrong method gets 405 rather than 404.
export class RouteTable {
  private readonly entries: { pattern: RegExp; method: string }[] = [];

  add(method: string, url: string): void {
    const escaped = url
      .split('/')
      .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    this.entries.push({ pattern: new RegExp(`^${escaped}/?$`), method });
  }

  /** Methods that serve this concrete path (empty when the path is unknown). */
  methodsFor(path: string): string[] {
    return this.entries.filter((e) => e.pattern.test(path)).map((e) => e.method);
  }
}
