declare module 'pgpass' {
  /** Looks up the password for a connection in PGPASSFILE or ~/.pgpass (only when the file is 0600). */
  export default function pgpass(connection: {host?: string; port?: number; database?: string; user?: string}, callback: (password?: string) => void): void
}
