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
 * 3. Staff type questions (客户失联怎么办). Each Han run is split into index words, longest
 *    first; question and filler words listed in `kb_fillers` (same file) are dropped so they
 *    do not outweigh the words that matter. A run that is itself a word is kept whole.
 */
(function () {
  "use strict"
  var SENTINEL = "\u3007"
  var terms = null
  var charmap = {}
  var fillers = new Set()
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
    fillers = new Set((index.config && index.config.kb_fillers) || [])
  }

  function hasPrefixTerm(run) {
    for (var j = 1; j <= run.length; j++)
      if (terms.has(run.slice(0, j))) return true
    return false
  }

  // Longest index words first; characters that start no word are kept together.
  function words(run) {
    var parts = [], unknown = "", i = 0
    while (i < run.length) {
      var j = run.length
      while (j > i && !terms.has(run.slice(i, j))) j--
      if (j > i) {
        if (unknown) { parts.push({ text: unknown, known: false }); unknown = "" }
        parts.push({ text: run.slice(i, j), known: true })
        i = j
      } else {
        unknown += run[i++]
      }
    }
    if (unknown) parts.push({ text: unknown, known: false })
    return parts
  }

  function fixRun(run) {
    if (terms.has(run)) return run + SENTINEL
    var parts = words(run)
    var kept = parts.filter(function (p) { return !(p.known && fillers.has(p.text)) })
    if (!kept.length) kept = parts
    return kept.map(function (p) {
      return p.known || hasPrefixTerm(p.text) ? p.text + SENTINEL : p.text
    }).join(" ")
  }

  function fixQuery(query) {
    var mapped = ""
    for (var i = 0; i < query.length; i++) mapped += charmap[query[i]] || query[i]
    if (!terms) return mapped
    return mapped.replace(/\p{sc=Han}+/gu, fixRun)
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
