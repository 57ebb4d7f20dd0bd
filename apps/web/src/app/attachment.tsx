// An attachment in the timeline: images are fetched, checked against their digest, decrypted
// and previewed; other files download on request. Progress is shown either way.
import { useEffect, useState } from 'react';
import type { AttachmentInfo } from '@ghostproof/client/browser';
import { useTopics } from './hooks.js';
import type { Model } from './model.js';
import { errorText, formatSize } from './text.js';

/** Types shown inline. Not SVG: it is a document, not a picture. */
const PREVIEWABLE = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const PREVIEW_MAX_BYTES = 16 * 1024 * 1024;

export function AttachmentView({ model, attachment }: { model: Model; attachment: AttachmentInfo }) {
  useTopics(model, ['progress']);
  const [url, setUrl] = useState(() => model.attachmentUrl(attachment.id));
  const [error, setError] = useState('');
  const key = `download:${attachment.id}`;
  const progress = model.progress(key);
  const preview = PREVIEWABLE.has(attachment.contentType) && attachment.size <= PREVIEW_MAX_BYTES;

  const load = async (): Promise<string | undefined> => {
    const known = model.attachmentUrl(attachment.id);
    if (known) return known;
    setError('');
    model.setProgress(key, { done: 0, total: attachment.size + 16 });
    try {
      const bytes = await model.messenger.downloadAttachment(attachment, (received, total) =>
        model.setProgress(key, { done: received, total: total || attachment.size + 16 }),
      );
      const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], {
        type: PREVIEWABLE.has(attachment.contentType) ? attachment.contentType : 'application/octet-stream',
      });
      const made = model.rememberAttachment(attachment.id, blob);
      setUrl(made);
      return made;
    } catch (err) {
      setError(errorText(err));
      return undefined;
    } finally {
      model.setProgress(key, undefined);
    }
  };

  useEffect(() => {
    if (preview && !model.attachmentUrl(attachment.id)) void load();
    // Loads once per attachment shown.
  }, [attachment.id]);

  const save = async () => {
    const target = url ?? (await load());
    if (!target) return;
    const a = document.createElement('a');
    a.href = target;
    a.download = attachment.fileName || 'attachment';
    a.click();
  };

  return (
    <figure className="attachment">
      {preview && url && <img src={url} alt={`Image: ${attachment.fileName}`} />}
      <figcaption>
        <span className="file-name">{attachment.fileName}</span>{' '}
        <span className="hint">({formatSize(attachment.size)})</span>{' '}
        <button type="button" onClick={() => void save()} aria-label={`Download ${attachment.fileName}`}>
          Download
        </button>
      </figcaption>
      {progress && (
        <div className="progress-line">
          <progress
            max={progress.total}
            value={progress.done}
            aria-label={`Downloading ${attachment.fileName}`}
          />{' '}
          {Math.floor((100 * progress.done) / Math.max(1, progress.total))}%
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          Could not open this attachment: {error}
        </p>
      )}
    </figure>
  );
}
