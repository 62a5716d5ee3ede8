// Which connector serves which wallet: every wallet goes to the simulator until a real connector is configured.
import type { PaymentMethod } from '@tunai/client/contract';
import type { ConnectorRegistry, PaymentConnector } from '../app/connector.js';

export function createConnectorRegistry(connectors: readonly PaymentConnector[], routes: Partial<Record<PaymentMethod, string>> = {}): ConnectorRegistry {
  const byName = new Map(connectors.map((c) => [c.name, c]));
  const fallback = connectors[0];
  if (!fallback) throw new Error('at least one payment connector is required');
  return {
    forMethod(method) {
      const name = routes[method];
      return (name ? byName.get(name) : undefined) ?? fallback;
    },
    byName(name) {
      const connector = byName.get(name);
      if (!connector) throw new Error(`no payment connector named "${name}" is configured`);
      return connector;
    },
  };
}
