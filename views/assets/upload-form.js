// The new-session form: an acknowledgement is required only when it applies — when files are
// chosen, or web search is ticked. The server enforces the same (422 acknowledgement_required).
// Also run when the form comes back (a refusal re-renders it with the boxes as they were ticked).
'use strict'
;(() => {
  const update = (form) => {
    const files = form.querySelector('input[type=file][name=files]')
    const uploadAck = form.querySelector('input[name=acknowledge_uploads]')
    if (files && uploadAck) uploadAck.required = files.files.length > 0
    const web = form.querySelector('input[name=web_search]')
    const webAck = form.querySelector('input[name=acknowledge_web_search]')
    if (web && webAck) webAck.required = web.checked
  }
  document.addEventListener('change', (event) => {
    const form = event.target instanceof Element ? event.target.closest('form') : null
    if (form) update(form)
  })
  const scan = () => document.querySelectorAll('form#new-session').forEach(update)
  document.addEventListener('DOMContentLoaded', scan)
  document.addEventListener('htmx:after:settle', scan)
})()
