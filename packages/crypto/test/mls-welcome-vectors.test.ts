// The MLS welcome vectors against the pinned ts-mls on our provider: decrypt the group
// secrets with init_priv, decrypt the GroupInfo, check its signature and recompute its
// confirmation tag. The file has one vector per suite 1-7; we support suite 1 only.
// Negative controls: a provider with one flipped bit in HPKE open, or in HKDF-Expand, fails.
import { checkWelcome, describeVectorFile } from './helpers/mls-protocol-vectors.js';

describeVectorFile({
  file: 'welcome',
  check: checkWelcome,
  total: 7,
  supported: 1,
  controls: ['HPKE open', 'HKDF-Expand'],
});
