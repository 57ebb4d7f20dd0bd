// The composer: writing, replying to and editing a message (Enter sends, Escape cancels,
// ArrowUp edits the last message we sent), and sending a file with its upload progress.
import { useEffect, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { StoredMessage } from '@ghostproof/client/browser';
import { useTopics } from './hooks.js';
import type { Model } from './model.js';
import { errorText } from './text.js';
import { useTypingSignal } from './typing.js';

/** Files above this are refused before reading them (the server's default limit is 100 MiB). */
export const MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024 - 16;

export function Composer(props: {
  model: Model;
  id: string;
  replyTo: StoredMessage | undefined;
  editing: StoredMessage | undefined;
  lastOwn: StoredMessage | undefined;
  onDone: () => void;
  onEdit: (message: StoredMessage) => void;
  nameOf: (username: string) => string;
  onError: (text: string) => void;
}) {
  const { model, id, replyTo, editing } = props;
  const m = model.messenger;
  const [text, setText] = useState('');
  const [uploading, setUploading] = useState(false);
  useTopics(model, ['progress']);
  const progress = model.progress(`upload:${id}`);

  useEffect(() => {
    if (editing) setText(editing.text);
  }, [editing]);

  const { typed, stop: stopTyping } = useTypingSignal(model, id);

  const onInput = (value: string) => {
    setText(value);
    if (!editing) typed(value);
  };

  const submit = async (ev?: FormEvent) => {
    ev?.preventDefault();
    const body = text.trim();
    if (!body) return;
    props.onError('');
    try {
      if (editing) await m.edit(id, editing.id, body);
      else await m.sendText(id, body, replyTo?.id);
      setText('');
      stopTyping();
      props.onDone();
    } catch (err) {
      props.onError(errorText(err));
    }
  };

  const onKeyDown = (ev: KeyboardEvent<HTMLTextAreaElement>) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.nativeEvent.isComposing) {
      ev.preventDefault();
      void submit();
    } else if (ev.key === 'Escape' && (replyTo || editing)) {
      ev.preventDefault();
      setText('');
      props.onDone();
    } else if (ev.key === 'ArrowUp' && text === '' && props.lastOwn) {
      ev.preventDefault();
      props.onEdit(props.lastOwn);
    }
  };

  const attach = async (file: File) => {
    props.onError('');
    if (file.size > MAX_ATTACHMENT_BYTES) {
      props.onError('That file is larger than this server accepts (100 MB).');
      return;
    }
    const key = `upload:${id}`;
    setUploading(true);
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      model.setProgress(key, { done: 0, total: bytes.length + 16 });
      model.uploadProgress = (sent, total) => model.setProgress(key, { done: sent, total });
      const caption = text.trim();
      const messageId = await m.sendAttachment(id, {
        bytes,
        contentType: file.type || 'application/octet-stream',
        fileName: file.name,
        ...(caption ? { caption } : {}),
      });
      // The sender keeps its own copy to show, instead of downloading what it just uploaded.
      const sent = await model.store.getMessage(id, messageId);
      if (sent?.attachment)
        model.rememberAttachment(sent.attachment.id, new Blob([bytes], { type: file.type }));
      if (caption) setText('');
    } catch (err) {
      props.onError(errorText(err));
    } finally {
      model.uploadProgress = undefined;
      model.setProgress(key, undefined);
      setUploading(false);
    }
  };

  return (
    <form className="composer" aria-label="Write a message" onSubmit={(ev) => void submit(ev)}>
      {replyTo && (
        <div className="composer-context">
          Replying to{' '}
          {replyTo.sender.username === model.username ? 'yourself' : props.nameOf(replyTo.sender.username)}:{' '}
          <q>{replyTo.text || replyTo.attachment?.fileName}</q>{' '}
          <button type="button" onClick={props.onDone} aria-label="Cancel reply">
            Cancel
          </button>
        </div>
      )}
      {editing && (
        <div className="composer-context">
          Editing your message{' '}
          <button
            type="button"
            onClick={() => {
              setText('');
              props.onDone();
            }}
            aria-label="Cancel edit"
          >
            Cancel
          </button>
        </div>
      )}
      {progress && (
        <div className="progress-line">
          <label htmlFor={`upload-${id}`}>Uploading</label>{' '}
          <progress
            id={`upload-${id}`}
            max={progress.total}
            value={progress.done}
            aria-label="Upload progress"
          />{' '}
          {Math.floor((100 * progress.done) / Math.max(1, progress.total))}%
        </div>
      )}
      <div className="composer-row">
        <label htmlFor="composer-text" className="visually-hidden">
          Message
        </label>
        <textarea
          id="composer-text"
          rows={2}
          value={text}
          placeholder={editing ? 'Edit your message' : 'Message (Enter sends, Shift+Enter for a new line)'}
          onChange={(ev) => onInput(ev.target.value)}
          onKeyDown={onKeyDown}
          onBlur={stopTyping}
        />
        <input
          id={`attach-${id}`}
          type="file"
          className="visually-hidden"
          aria-label="Attach a file"
          disabled={uploading}
          onChange={(ev) => {
            const file = ev.target.files?.[0];
            ev.target.value = '';
            if (file) void attach(file);
          }}
        />
        <label
          htmlFor={`attach-${id}`}
          className={`button${uploading ? ' disabled' : ''}`}
          aria-hidden="true"
        >
          Attach
        </label>
        <button type="submit">{editing ? 'Save' : 'Send'}</button>
      </div>
    </form>
  );
}
