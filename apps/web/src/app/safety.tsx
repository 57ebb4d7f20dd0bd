// The safety number of this account and a contact: 60 digits in twelve groups and a QR code
// of the same fingerprints, both derived from the two identity keys. Matching numbers mean
// nobody sits in between; marking the contact verified makes a later key change block sending
// until it is acknowledged.
import QRCode from 'qrcode';
import { useState } from 'react';
import { useAsync, useTopics } from './hooks.js';
import type { Model } from './model.js';
import { navigate } from './navigation.js';
import { errorText } from './text.js';

function QrCode({ payload, label }: { payload: Uint8Array; label: string }) {
  const code = QRCode.create([{ data: payload, mode: 'byte' }], { errorCorrectionLevel: 'M' });
  const size = code.modules.size;
  let path = '';
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      if (code.modules.get(row, col)) path += `M${col + 4},${row + 4}h1v1h-1z`;
    }
  }
  const full = size + 8;
  return (
    <svg
      className="qr"
      role="img"
      aria-label={label}
      viewBox={`0 0 ${full} ${full}`}
      width={full * 5}
      height={full * 5}
      shapeRendering="crispEdges"
    >
      <rect width={full} height={full} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}

export function SafetyNumberView(props: { model: Model; username: string; from: string | undefined }) {
  const { model, username } = props;
  const m = model.messenger;
  const version = useTopics(model, ['contacts']);
  const [error, setError] = useState('');
  const number = useAsync(
    () => m.safetyNumber(username).catch((err: unknown) => (setError(errorText(err)), undefined)),
    [username, version],
  );
  const contact = useAsync(() => model.contact(username), [username, version]);
  const groups = number?.digits.replace(/\s/g, '').match(/\d{5}/g) ?? [];

  const act = async (action: () => Promise<void>) => {
    setError('');
    try {
      await action();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section className="safety" aria-labelledby="safety-title">
      <h2 id="safety-title">Safety number with {username}</h2>
      {props.from && (
        <button type="button" onClick={() => navigate(`#/c/${props.from}`)}>
          Back to the conversation
        </button>
      )}
      {contact && contact.identityChangedAt > 0 && (
        <div className="banner identity" role="alert">
          <strong>{username}’s safety number changed</strong> on{' '}
          {new Date(contact.identityChangedAt).toLocaleString()}. Compare the new number below before you
          trust it.{' '}
          <button type="button" onClick={() => void act(() => m.acknowledgeIdentityChange(username))}>
            Acknowledge the new number
          </button>
        </div>
      )}
      <p>
        Compare these numbers with {username} in person or over a channel you trust, or scan each other’s
        code. If they match, nobody can read or change your messages in between.
      </p>
      {number ? (
        <>
          <p className="digits" aria-label="Safety number digits">
            {groups.map((g, i) => (
              <span key={i}>{g}</span>
            ))}
          </p>
          <QrCode payload={number.qrPayload} label={`QR code of the safety number with ${username}`} />
        </>
      ) : (
        !error && <p role="status">Computing…</p>
      )}
      <p className="verified-state" role="status">
        {contact?.verified ? `You have verified ${username}.` : `${username} is not verified.`}
      </p>
      {number && !contact?.verified && (
        <button type="button" onClick={() => void act(() => m.markVerified(username))}>
          Mark as verified
        </button>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
