// The settings form: reads and writes its values, fills the quick-pick chips and presets from
// the Rust page spec, mirrors the settings in the URL, and shows the problems Rust found next
// to their fields. It decides nothing itself: every value goes to Rust's `check_form`.

/** The form's keys, in URL order: Rust's (page_spec().form_keys), set by the Controls. */
export let FORM_KEYS = [];

/** Problems about the overall size are shown under M and mark both N and M. */
const FIELD_GROUPS = { size: ['n', 'm'] };

export class Controls {
  /**
   * @param {HTMLFormElement} form
   * @param {object} spec   Rust's page_spec(): defaults, grids, presets
   * @param {() => void} onChange  called after every edit
   */
  constructor(form, spec, onChange) {
    this.form = form;
    this.spec = spec;
    this.onChange = onChange;
    FORM_KEYS = spec.form_keys;
    this.chips('tau0', spec.tau0_grid);
    this.chips('n', spec.n_grid);
    this.chips('m', spec.m_grid);
    form.addEventListener('input', () => this.changed());
    form.addEventListener('change', () => this.changed());
    form.addEventListener('submit', (e) => e.preventDefault());
  }

  field(name) {
    return this.form.elements.namedItem(name);
  }

  /** Quick-pick buttons for a numeric field (the paper's grid). */
  chips(name, values) {
    const box = this.form.querySelector(`.chips[data-for="${name}"]`);
    if (!box) return;
    for (const v of values) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'chip';
      b.textContent = String(v);
      b.dataset.value = String(v);
      b.addEventListener('click', () => {
        this.field(name).value = String(v);
        this.changed();
      });
      box.append(b);
    }
  }

  /** The raw values as typed (strings), the method as chosen, refit as a boolean. */
  values() {
    const out = {};
    for (const k of FORM_KEYS) {
      const el = this.field(k);
      if (!el) continue;
      out[k] = el.type === 'checkbox' ? el.checked : el.value;
    }
    return out;
  }

  /** Sets the fields present in `values` (strings, numbers or booleans). */
  set(values) {
    for (const [k, v] of Object.entries(values)) {
      const el = this.field(k);
      if (!el || v === undefined || v === null) continue;
      if (el.type === 'checkbox') el.checked = v === true || v === 'true' || v === '1';
      // A value no radio button has leaves none chosen, so Rust's check names the field.
      else if (el instanceof RadioNodeList) for (const r of el) r.checked = r.value === String(v);
      else el.value = String(v);
    }
    this.refresh();
  }

  changed() {
    this.refresh();
    this.onChange();
  }

  /** Highlights the chip matching each field and dims the settings of a method that will not run. */
  refresh() {
    for (const box of this.form.querySelectorAll('.chips')) {
      const cur = this.field(box.dataset.for).value.trim();
      for (const c of box.children) c.classList.toggle('on', cur !== '' && Number(c.dataset.value) === Number(cur));
    }
    const method = this.values().method;
    for (const wrap of this.form.querySelectorAll('[data-method-field]')) {
      const m = wrap.dataset.methodField;
      wrap.classList.toggle('inactive', method !== 'both' && method !== m);
    }
  }

  /** Marks each field with a problem and writes Rust's message under it; `notes` (and problems
   *  without a field of their own) go under the form. */
  showProblems(problems, notes = []) {
    for (const el of this.form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const el of this.form.querySelectorAll('.field-msg')) el.textContent = '';
    const general = [...notes];
    for (const p of problems) {
      const msg = this.form.querySelector(`.field-msg[data-for="${p.field}"]`);
      const names = FIELD_GROUPS[p.field] || [p.field];
      const inputs = names.map((n) => this.field(n)).filter(Boolean);
      for (const el of inputs) {
        if (el instanceof RadioNodeList) for (const r of el) r.setAttribute('aria-invalid', 'true');
        else el.setAttribute('aria-invalid', 'true');
      }
      if (msg) msg.textContent += (msg.textContent ? ' ' : '') + capitalize(p.message) + '.';
      else general.push(`${p.field}: ${p.message}`);
    }
    const g = this.form.querySelector('.field-msg[data-for="form"]');
    if (g) g.textContent = general.join(' · ');
  }

  /** Applies a preset from the spec; other fields keep their values. */
  applyPreset(id) {
    const p = this.spec.presets.find((x) => x.id === id);
    if (!p) return null;
    this.set(p.values);
    this.onChange();
    return p;
  }

  /** The settings as a query string (every key, so a link reproduces the run exactly). */
  toQuery(extra = {}) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(this.values())) q.set(k, String(v));
    for (const [k, v] of Object.entries(extra)) q.set(k, String(v));
    return q.toString();
  }

  /** Form values found in a query string (unknown keys are returned apart). */
  static fromQuery(search) {
    const q = new URLSearchParams(search);
    const values = {}, other = {};
    for (const [k, v] of q) (FORM_KEYS.includes(k) ? values : other)[k] = v;
    return { values, other };
  }
}

function capitalize(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
