/** What every command that talks to Temporal shares: one client per command, JSON and text out. */
import { LongrunClient } from '../client';

export async function withClient<T>(fn: (client: LongrunClient) => Promise<T>): Promise<T> {
  const client = await LongrunClient.connect();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function print(text: string): void {
  process.stdout.write(text);
}
