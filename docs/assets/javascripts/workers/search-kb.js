/* 催收知识库 search worker: Material's own worker plus two fixes for Chinese queries.
 *
 * Loaded instead of Material's worker (hooks/kb_i18n.py points `__config.search` here and
 * passes Material's worker file as ?material=…). It must live next to Material's worker,
 * which loads ../lunr/… relative to the worker's location.
 *
 * 1. Material splits a Han query greedily against the index terms, but never lets a
 *    segment reach the last character (its loop stops one short): 分期 was searched as 分*.
 *    Appending one Han character that is in no term (U+3007 〇) to each Han run lets the
 *    real last character count; the sentinel itself is then dropped by the same loop.
 *    When no prefix of the run is a term, Material searches the run as typed: leave it.
 * 2. Staff type either script. The index config carries `kb_charmap` (built by
 *    tools/kb/search_index.py): characters of the other script → this edition's script.
 */
(function () {
  "use strict"
  var SENTINEL = "\u3007"
  var terms = null
  var charmap = {}
  var separator = /[\s\u200b\u3000\-、。，．？！；]+/

  function learn(index) {
    terms = new Set()
    try { separator = new RegExp(index.config.separator) } catch (e) { /* keep default */ }
    var add = function (value) {
      if (typeof value === "string")
        value.replace(/<[^>]*>/g, " ").split(separator).forEach(function (t) { if (t) terms.add(t.toLowerCase()) })
    }
    index.docs.forEach(function (doc) {
      add(doc.title); add(doc.text)
      ;(doc.tags || []).concat(doc.keywords || []).forEach(function (t) { terms.add(String(t).toLowerCase()) })
    })
    charmap = (index.config && index.config.kb_charmap) || {}
  }

  function hasPrefixTerm(run) {
    for (var j = 1; j <= run.length; j++)
      if (terms.has(run.slice(0, j))) return true
    return false
  }

  function fixQuery(query) {
    var mapped = ""
    for (var i = 0; i < query.length; i++) mapped += charmap[query[i]] || query[i]
    if (!terms) return mapped
    return mapped.replace(/\p{sc=Han}+/gu, function (run) {
      return hasPrefixTerm(run.toLowerCase()) ? run + SENTINEL : run
    })
  }

  // Registered before Material's listener, so it sees (and may rewrite) each message first.
  addEventListener("message", function (ev) {
    var message = ev.data
    if (!message || typeof message !== "object") return
    if (message.type === 0 && message.data) learn(message.data)               // SETUP
    else if (message.type === 2 && typeof message.data === "string")        // QUERY
      message.data = fixQuery(message.data)
  })

  var material = new URL(self.location.href).searchParams.get("material")
  importScripts(material)
})()
