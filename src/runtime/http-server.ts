import type {IncomingMessage, ServerResponse} from 'node:http'

/**
 * What both HTTP servers (the WaaS e-service in transport/ and the sandbox) need to read and answer:
 * here, below both, so that the sandbox need not import transport/ (transport/connect.ts starts it).
 */

/** The request body, or undefined when it exceeds `max` bytes (answer 413). */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > max) return undefined
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text)})
  res.end(text)
}

/** RFC 7807 `application/problem+json`, with the OpenAPI `Problem` fields only. */
export function sendProblem(res: ServerResponse, status: number, title: string, detail?: string): void {
  const text = JSON.stringify({type: 'about:blank', title, status, ...(detail ? {detail: detail.slice(0, 4096)} : {})})
  res.writeHead(status, {'Content-Type': 'application/problem+json', 'Content-Length': Buffer.byteLength(text)})
  res.end(text)
}
