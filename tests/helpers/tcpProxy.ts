import net from 'node:net';

/**
 * A TCP proxy on a loopback port forwarding to `target`, holding every chunk back by `delayMs` in each
 * direction (a round trip gains about twice that). The delay can change at run time; chunks keep their
 * order whatever the delay (each waits for the one before it).
 */
export interface TcpProxy {
  port: number;
  delayMs: number;
  /** Connections currently open through the proxy. */
  connections(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }, delayMs = 0): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const proxy = { delayMs } as TcpProxy;

  /** Forwards `from` to `to`, each chunk released no earlier than its arrival plus the current delay. */
  const pipeDelayed = (from: net.Socket, to: net.Socket) => {
    const queue: { at: number; chunk: Buffer | null }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const drain = () => {
      timer = undefined;
      while (queue.length && queue[0]!.at <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (to.destroyed) return;
        if (chunk) to.write(chunk);
        else to.end();
      }
      if (queue.length) timer = setTimeout(drain, queue[0]!.at - Date.now());
    };
    const push = (chunk: Buffer | null) => {
      queue.push({ at: Math.max(Date.now() + proxy.delayMs, queue.at(-1)?.at ?? 0), chunk });
      if (!timer) drain();
    };
    from.on('data', (chunk: Buffer) => push(chunk));
    from.on('end', () => push(null));
  };

  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    pipeDelayed(client, upstream);
    pipeDelayed(upstream, client);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as net.AddressInfo).port;
  proxy.connections = () => sockets.size / 2;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return proxy;
}
