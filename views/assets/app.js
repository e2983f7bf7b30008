// Small enhancements for every page; the pages work without them.
// 1. Times: <time data-local datetime="…"> is shown in the reader's own time zone, named ("15:45 CEST").
// 2. Counters: a textarea with data-max-chars updates its counter (data-counter-for) as the user types.
'use strict'
;(() => {
  const pad = (n) => String(n).padStart(2, '0')

  function localTime(element) {
    const at = new Date(element.getAttribute('datetime'))
    if (Number.isNaN(at.getTime())) return
    let zone = ''
    try {
      zone = new Intl.DateTimeFormat('en-GB', { timeZoneName: 'short' }).formatToParts(at).find((part) => part.type === 'timeZoneName')?.value ?? ''
    } catch {
      return
    }
    const date = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`
    const time = `${pad(at.getHours())}:${pad(at.getMinutes())}${element.dataset.local === 'seconds' ? `:${pad(at.getSeconds())}` : ''}`
    element.textContent = `${date} ${time} ${zone}`
    element.dataset.localised = 'true'
  }

  function counter(textarea) {
    const max = Number(textarea.dataset.maxChars)
    const output = document.querySelector(`[data-counter-for="${textarea.id}"]`)
    if (!output || !max) return
    const update = () => {
      const length = textarea.value.length
      output.textContent = `${length.toLocaleString('en-US')} / ${max.toLocaleString('en-US')} characters${length > max ? ` — ${(length - max).toLocaleString('en-US')} over the limit` : ''}`
      output.classList.toggle('over', length > max)
      output.classList.toggle('near', length <= max && length > max * 0.9)
      output.classList.toggle('muted', length <= max * 0.9)
    }
    if (textarea.dataset.counting) return update()
    textarea.dataset.counting = 'true'
    textarea.addEventListener('input', update)
    update()
  }

  function enhance(root) {
    for (const element of root.querySelectorAll('time[data-local]:not([data-localised])')) localTime(element)
    for (const textarea of root.querySelectorAll('textarea[data-max-chars]')) counter(textarea)
  }

  document.addEventListener('DOMContentLoaded', () => enhance(document))
  // Fragments swapped in by htmx get the same treatment.
  document.addEventListener('htmx:after:settle', () => enhance(document))
  window.councilEnhance = enhance
})()

// 3. Copy buttons: <button data-copy="…"> puts the full value (an id shown shortened) on the clipboard.
document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-copy]') : null
  if (!button || !navigator.clipboard) return
  navigator.clipboard.writeText(button.getAttribute('data-copy')).then(
    () => {
      const label = button.textContent
      button.textContent = 'copied'
      setTimeout(() => (button.textContent = label), 1500)
    },
    () => {},
  )
})
