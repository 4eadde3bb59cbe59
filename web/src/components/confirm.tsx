import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

// A modal question with a cancel and a (dangerous) confirm button, on the native <dialog>
// (focus trap, Escape to close).
export function Confirm(props: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  onConfirm: () => void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} class="confirm" onClose={props.onClose} aria-labelledby="confirm-title">
      <form method="dialog">
        <h2 id="confirm-title">{props.title}</h2>
        <div class="confirm-body">{props.children}</div>
        <div class="confirm-actions">
          <button type="submit" value="cancel" class="btn" autofocus>
            Keep it
          </button>
          <button
            type="button"
            class="btn danger"
            onClick={() => {
              props.onConfirm();
              ref.current?.close();
            }}
          >
            {props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
