// The client-store contract under node:test: one test per check, each on a fresh store.
import { describe, it } from 'node:test';
import { clientStoreContract, runClientStoreCheck, type OpenClientStore } from './client-store-contract.js';

export function describeClientStoreContract(name: string, open: OpenClientStore): void {
  describe(`${name}: the ClientStore contract`, () => {
    for (const check of clientStoreContract) it(check.name, () => runClientStoreCheck(check, open));
  });
}
