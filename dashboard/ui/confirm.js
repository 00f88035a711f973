// The in-page confirmation every bulk action asks for: a <dialog> that says
// what will happen ("Retry all 12 dead runs of image-pipeline?"), with an
// optional extra control (e.g. "force"). Resolves { ok, extra }.
import { h, byId, patchChildren } from './dom.js';

let pending = null;

export function confirmAction({ title, text, okLabel = 'Confirm', danger = false, extra = null }) {
  const dialog = byId('confirm');
  if (pending) pending({ ok: false, extra: null });
  byId('confirm-title').textContent = title;
  byId('confirm-text').textContent = text;
  patchChildren(byId('confirm-extra'), extra ? [extra] : []);
  const ok = byId('confirm-ok');
  ok.textContent = okLabel;
  ok.className = danger ? 'danger' : '';
  dialog.returnValue = '';
  return new Promise((resolve) => {
    pending = (answer) => {
      pending = null;
      resolve(answer);
    };
    dialog.addEventListener(
      'close',
      () => pending?.({ ok: dialog.returnValue === 'ok', extra: byId('confirm-extra').firstElementChild }),
      { once: true },
    );
    dialog.showModal();
    byId('confirm-cancel').focus();
  });
}

/** A labelled checkbox for the dialog's extra slot; read it as `extra.querySelector('input').checked`. */
export function checkbox(label, testid) {
  return h('label', { class: 'check' }, h('input', { type: 'checkbox', 'data-testid': testid }), ' ', label);
}
