/** The peers the benchmark knows, by the system name their rows carry. */
import { jaxPeer } from './jax-peer.js';
import { ortCpuPeer, ortWebGpuPeer } from './ort-peer.js';
import type { PeerSystem } from './peer-api.js';

export const PEERS: Readonly<Record<string, PeerSystem>> = Object.fromEntries(
  [jaxPeer, ortWebGpuPeer, ortCpuPeer].map((p) => [p.name, p]),
);
