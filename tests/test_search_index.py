"""The per-edition search indexes: segmentation, keywords, size, one edition per index."""

from __future__ import annotations

import json
import re

import jieba
import pytest

from kb import search_index

ZWSP = "\u200b"


def test_traditional_text_is_cut_like_its_simplified_source():
    cut = lambda text: ZWSP.join(jieba.cut(text))  # noqa: E731 - Material's segmenter, minus HTML
    simplified = "老赖型客户失联后如何做失联修复"
    traditional = "老賴型客戶失聯後如何做失聯修復"
    assert search_index.segment_via_simplified(traditional, cut).split(ZWSP) == [
        word.translate(str.maketrans("赖户联后复", "賴戶聯後復")) for word in cut(simplified).split(ZWSP)
    ]
    # Plain jieba (no Traditional dictionary) cuts the Traditional text differently.
    assert cut(traditional) != search_index.segment_via_simplified(traditional, cut)


@pytest.mark.parametrize("text", [
    "老赖型客户失联后如何做失联修复",
    "<p>M1 阶段：首次联系（第 1 天）与承诺未兑现。</p> 客户说“下周还”，怎么办？",
    "English only, 123 — no Han at all",
    "〇和々也是汉字脚本；𠀀扩展区B",
    "",
])
def test_cached_segmenter_returns_exactly_what_material_returns(text):
    from material.plugins.search.plugin import SearchIndex

    material = SearchIndex._segment_chinese(None, text)
    segmenter = search_index.CachedSegmenter()
    assert segmenter.segment(text) == material
    assert segmenter.segment(text) == material  # and again from the cache


def test_cached_segmenter_cuts_each_run_once_and_forgets_on_dictionary_change():
    runs = []

    def cut(run):
        runs.append(run)
        return jieba.cut(run)

    segmenter = search_index.CachedSegmenter(cut)
    segmenter.reset_if_changed(("dict", 1))
    segmenter.segment("失联修复，失联修复。")
    segmenter.segment("<b>失联修复</b>")
    assert runs == ["失联修复"]
    segmenter.reset_if_changed(("dict", 1))
    segmenter.segment("失联修复")
    assert runs == ["失联修复"]
    segmenter.reset_if_changed(("dict", 2))  # the user dictionary was edited during `mkdocs serve`
    segmenter.segment("失联修复")
    assert runs == ["失联修复", "失联修复"]


def test_user_dictionary_is_up_to_date():
    assert search_index.main(["--check"]) == 0, "请运行：python -m kb.search_index"


def test_user_dictionary_has_traditional_entries():
    from kb.paths import DATA_DIR

    words = {line.split()[0] for line in (DATA_DIR / "jieba_user_dict.txt").read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")}
    for simplified, traditional in [("老赖型", "老賴型"), ("协催", "協催"), ("失信被执行人", "失信被執行人"), ("四维模型", "四維模型")]:
        assert simplified in words and traditional in words


@pytest.fixture(scope="module")
def indexes(built_site):
    return {
        "zh": (built_site.site_dir / "search/search_index.json").read_bytes(),
        "zh-Hant": (built_site.site_dir / "zh-Hant/search/search_index.json").read_bytes(),
    }


@pytest.mark.slow
def test_each_edition_has_its_own_index(indexes):
    zh, hant = (json.loads(indexes[k]) for k in ("zh", "zh-Hant"))
    assert zh["docs"] and hant["docs"]
    assert not [d for d in zh["docs"] if d["location"].startswith("zh-Hant/")]
    assert not [d for d in hant["docs"] if d["location"].startswith("zh-Hant/")]  # edition-relative
    assert {d["location"] for d in zh["docs"]} == {d["location"] for d in hant["docs"]}
    titles = {d["location"]: d["title"] for d in hant["docs"]}
    assert titles["cases/lost-contact/"].replace(ZWSP, "") == "失聯客戶修復"
    # The generated script indexes keep only their introduction: their tables repeat every
    # script's title and labels, and each script is found on its own page.
    for index in (zh, hant):
        listed = [d["location"] for d in index["docs"] if d["location"].startswith("scripts/by-")]
        assert sorted(listed) == ["scripts/by-debtor-type/", "scripts/by-scenario/", "scripts/by-stage/"]
    # Tags are shown as chips on search results: Traditional in the Traditional edition.
    tags = {d["location"]: d.get("tags") for d in hant["docs"]}
    assert "話術庫" in tags["scripts/broken-promise/"] and "话术库" not in tags["scripts/broken-promise/"]
    assert "话术库" in next(d["tags"] for d in zh["docs"] if d["location"] == "scripts/broken-promise/")


@pytest.mark.slow
def test_index_is_segmented_with_zero_width_spaces(indexes):
    zh, hant = (json.loads(indexes[k]) for k in ("zh", "zh-Hant"))
    text = {d["location"]: d["text"] for d in zh["docs"]}
    assert ZWSP in text["cases/lost-contact/"]
    words = set(ZWSP.join(d["text"] for d in zh["docs"]).split(ZWSP))
    assert {"老赖型", "失联", "协催"} & words
    hant_words = set(ZWSP.join(d["text"] for d in hant["docs"]).split(ZWSP))
    assert {"老賴型", "失聯", "協催"} & hant_words
    # Both editions are cut at (nearly) the same places: Traditional text is cut via its
    # Simplified form, which differs from the source only where OpenCC is not reversible.
    same = sum(a["text"].count(ZWSP) == b["text"].count(ZWSP) for a, b in zip(zh["docs"], hant["docs"]))
    assert same >= 0.9 * len(zh["docs"]), f"{same}/{len(zh['docs'])}"


@pytest.mark.slow
def test_every_index_entry_is_cut_exactly_as_material_would(indexes, tmp_path, monkeypatch):
    """However the build cut it (prefetched in a worker, deferred, remembered from an earlier
    build or cut inline), each entry is what Material's segmenter makes of its text."""
    from kb.paths import DATA_DIR

    monkeypatch.setenv("KB_NO_CACHE", "1")
    tokenizer = jieba.Tokenizer()  # its own dictionaries, whatever other tests loaded into jieba's
    tokenizer.load_userdict(str(DATA_DIR / "jieba_user_dict.txt"))
    fresh = search_index.CachedSegmenter(tokenizer.cut)
    for edition in ("zh", "zh-Hant"):
        for entry in json.loads(indexes[edition])["docs"]:
            for field_name in ("title", "text"):
                cut = entry[field_name]
                raw = cut.replace(ZWSP, "")
                again = search_index.segment_via_simplified(raw, fresh.segment) if edition == "zh-Hant" else fresh.segment(raw)
                assert again == cut, (edition, entry["location"], field_name)


@pytest.mark.slow
def test_keywords_are_indexed_on_the_page_entry(indexes):
    zh, hant = (json.loads(indexes[k]) for k in ("zh", "zh-Hant"))
    assert zh["config"]["fields"]["keywords"]["boost"] > zh["config"]["fields"]["title"]["boost"]
    page = next(d for d in zh["docs"] if d["location"] == "cases/lost-contact/")
    assert "找不到人" in page["keywords"]
    hant_page = next(d for d in hant["docs"] if d["location"] == "cases/lost-contact/")
    assert "聯繫不上" in hant_page["keywords"]


@pytest.mark.slow
def test_index_is_compact_utf8(indexes):
    for edition, raw in indexes.items():
        text = raw.decode("utf-8")
        docs = text[text.index('"docs":') :]  # (the config's separator is a regex with \\u escapes)
        assert not re.search(r"\\u[0-9a-fA-F]{4}", docs), edition
        assert "失联" in docs or "失聯" in docs
        assert ", " not in text[:200] and '": ' not in text[:200]
        # Smaller than Material's escaped form of the same data.
        assert len(raw) < 0.75 * len(json.dumps(json.loads(raw), separators=(",", ":")).encode()), edition


@pytest.fixture
def user_dict(tmp_path, monkeypatch):
    """A jieba user dictionary of one word, and a cache directory of this test's own."""
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "user.txt"
    path.write_text("失联修复 10 n\n", encoding="utf-8")
    return path


def _segmenter(user_dict, cut=None):
    segmenter = search_index.CachedSegmenter(cut)
    segmenter.use_dictionaries(None, str(user_dict))
    return segmenter


def test_cuts_are_kept_for_the_next_build_and_jieba_is_not_loaded_for_known_runs(user_dict):
    first = _segmenter(user_dict)
    text = "<p>失联修复要先核实身份。</p>"
    expected = first.segment(text)
    assert "\u200b失联修复\u200b" in expected  # the user dictionary's word stays whole
    first.save()

    def must_not_cut(run):
        raise AssertionError(f"jieba was asked to cut {run!r}, which the previous build already cut")

    second = _segmenter(user_dict, must_not_cut)  # as the next build's process
    assert second.segment(text) == expected

    user_dict.write_text("失联修复 10 n\n核实身份 10 n\n", encoding="utf-8")  # an edited dictionary
    cuts = []
    third = _segmenter(user_dict, lambda run: cuts.append(run) or [run])
    third.segment(text)
    assert cuts, "another dictionary: nothing is reused"


def test_prefetched_runs_are_cut_by_the_worker_and_unforeseen_ones_here(user_dict, monkeypatch):
    reference = _segmenter(user_dict)
    source = "失联修复要先核实身份。\n\n老赖型客户的**常见**说法，见[失联修复](cases/lost-contact.md)一节"
    # Rendering drops the ** and the link syntax, joining runs: the prefetch foresees that.
    page_text = "<p>失联修复要先核实身份。</p><p>老赖型客户的常见说法，见失联修复一节</p>"
    unforeseen = "<p>构建时生成的文字</p>"
    expected = reference.segment(page_text)

    segmenter = _segmenter(user_dict)
    segmenter.prefetch([source])
    assert segmenter._prefetched is not None, "a fork-capable system prefetches"
    loaded = []
    original_load = segmenter._load_jieba
    monkeypatch.setattr(segmenter, "_load_jieba", lambda: loaded.append(True) or original_load())
    assert segmenter.segment("<p>失联修复要先核实身份。</p>") == reference.segment("<p>失联修复要先核实身份。</p>")
    assert not loaded, "runs the worker cut are not cut again in the build process"
    assert segmenter.segment(page_text) == expected
    assert not loaded, "runs joined by rendering (老赖型客户的常见说法) were foreseen"
    assert segmenter.segment(unforeseen) == reference.segment(unforeseen)
    assert loaded, "a run the sources did not foresee (构建时生成的文字) is cut here"

    segmenter.save()
    next_build = _segmenter(user_dict)
    next_build.prefetch([source + "一句新写的话"])
    assert not next_build.would_prefetch() and next_build._prefetched is None, "cuts remembered: no worker"


def test_index_entries_wait_for_a_running_prefetch_and_come_out_the_same(tmp_path, monkeypatch):
    from concurrent.futures import Future
    from types import SimpleNamespace

    from material.plugins.search.plugin import SearchIndex

    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    reference = search_index.CachedSegmenter()
    segmenter = search_index.CachedSegmenter()
    running = Future()
    segmenter._prefetched = running
    monkeypatch.setattr(search_index, "SEGMENTER", segmenter)
    plugin = SimpleNamespace(search_index=SearchIndex())
    search_index.install_segmenter(plugin, search_index.BuildState())
    page = SimpleNamespace(meta={}, title="失联客户修复")
    section = SimpleNamespace(id="", title=["失联客户修复"], text=["老赖型客户要先核实身份。"])
    plugin.search_index.create_entry_for_section(section, [], "cases/lost-contact/", page)
    (entry,) = plugin.search_index.entries
    assert (entry["title"], entry["text"]) == ("失联客户修复", "老赖型客户要先核实身份。"), "left for later"

    running.set_result({})  # the worker finished (having foreseen nothing)
    search_index.segment_deferred()
    assert entry["title"] == reference.segment("失联客户修复")
    assert entry["text"] == reference.segment("老赖型客户要先核实身份。")
    later = SimpleNamespace(id="", title=["协商分期"], text=["协商分期方案。"])
    plugin.search_index.create_entry_for_section(later, [], "scripts/", page)
    assert plugin.search_index.entries[-1]["text"] == reference.segment("协商分期方案。"), "no prefetch: cut at once"


def test_material_no_longer_initialises_jieba_itself(tmp_path, monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setattr(search_index, "SEGMENTER", search_index.CachedSegmenter())
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))

    user_dict = tmp_path / "user.txt"
    user_dict.write_text("失联修复 10 n\n", encoding="utf-8")
    plugin = SimpleNamespace(config={"jieba_dict": None, "jieba_dict_user": str(user_dict)})
    search_index.take_over_dictionaries(plugin)
    assert plugin.config["jieba_dict_user"] is None  # Material's on_config skips jieba
    assert search_index.SEGMENTER._dictionaries == (None, str(user_dict))
    missing = SimpleNamespace(config={"jieba_dict": None, "jieba_dict_user": str(tmp_path / "nope.txt")})
    search_index.take_over_dictionaries(missing)
    assert missing.config["jieba_dict_user"], "a missing file is left for Material to report"


def test_the_prefix_dictionary_memo_cuts_exactly_as_jieba(tmp_path, monkeypatch):
    """jieba's prefix dictionary is loaded from our pickle when we have one: the same
    dictionary, the same cuts; another dictionary file is never served from it."""
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    main_dict = tmp_path / "dict.txt"
    main_dict.write_text("失联 50 v\n修复 40 v\n失联修复 5 n\n客户 80 n\n老赖 30 n\n型 10 k\n", encoding="utf-8")
    text = "老赖型客户失联修复"

    reference = jieba.Tokenizer(str(main_dict))
    reference.initialize()
    first = jieba.Tokenizer(str(main_dict))
    search_index.load_prefix_dictionary(first)  # no memo yet: jieba initialises, we remember
    assert list((tmp_path / "cache").glob(f"{search_index.PREFIX_KIND}-*.pickle"))

    def initialised_again(*_args, **_kwargs):
        raise AssertionError("jieba built its prefix dictionary although the memo has it")

    second = jieba.Tokenizer(str(main_dict))
    monkeypatch.setattr(second, "initialize", initialised_again)
    search_index.load_prefix_dictionary(second)
    assert second.initialized
    for tokenizer in (first, second):
        assert (tokenizer.FREQ, tokenizer.total) == (reference.FREQ, reference.total)
        assert list(tokenizer.cut(text)) == list(reference.cut(text))

    main_dict.write_text("老赖型 90 n\n客户 80 n\n", encoding="utf-8")
    other = jieba.Tokenizer(str(main_dict))
    search_index.load_prefix_dictionary(other)
    assert "老赖型" in other.FREQ and "失联修复" not in other.FREQ


# --- zh-Hant sections reused from the zh pass (SectionReuse) -----------------------------

SECTION_HTML = """<h1 id="shou-ci">首次联系</h1>
<p>先核实身份，再说明来电目的。头发<strong>长短</strong>不重要&amp;礼貌很重要。</p>
<p>命令：<code>催收 --检查</code>，按键 <kbd>回车</kbd>。按键之后。</p>
<pre><code>话术模板：您好，这里是银行委托的催收专员。</code></pre>
<h2 id="cheng-nuo">承诺未兑现<a class="headerlink" href="#cheng-nuo">¶</a></h2>
<ul><li>记录承诺金额</li><li>约定下次联系时间</li></ul>
<h2 id="kong">空代码</h2>
<p><code> </code>空代码之后<strong>的文字也要转换</strong>。</p>
"""


def _page(content: str, src_uri: str = "scripts/first.md"):
    from types import SimpleNamespace

    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri), content=content, meta={})


def _shape(sections) -> list:
    return [(s.id, s.title, s.text) for s in sections]


def test_reused_sections_are_exactly_what_parsing_the_converted_page_gives():
    from kb import hant

    reuse = search_index.SectionReuse()
    reuse.start_pass(is_hant=False)
    zh = reuse.parse(_page(SECTION_HTML), remember=True)
    reuse.start_pass(is_hant=True)
    converted = hant.converter().convert_html(SECTION_HTML)
    reuse.note_conversion(_page(SECTION_HTML), SECTION_HTML, converted)
    reused = reuse.converted(_page(converted))
    parsed = reuse.parse(_page(converted), remember=False)
    assert reused is not None and _shape(reused) == _shape(parsed)
    text = "".join(reused[0].text)
    assert "頭髮" in text and "催收 --检查" in text and "回车" in text, "prose converted, code left as it is"
    last = "".join(reused[-1].text)
    assert "空代碼之後" in last and "的文字也要轉換" in last, "fragments after a dropped empty code element are converted"
    assert _shape(zh) != _shape(reused)


def test_sections_are_parsed_again_when_the_traditional_html_is_not_the_converted_zh_html():
    from kb import hant

    convert_html = hant.converter().convert_html
    reuse = search_index.SectionReuse()
    reuse.start_pass(is_hant=False)
    reuse.parse(_page(SECTION_HTML), remember=True)
    reuse.start_pass(is_hant=True)
    # The zh-Hant pass converted other HTML (e.g. the tags plugin lists pages per edition) …
    other = SECTION_HTML.replace("记录承诺金额", "另一份清单")
    reuse.note_conversion(_page(other), other, convert_html(other))
    assert reuse.converted(_page(convert_html(other))) is None
    # … or something changed the page after the conversion.
    converted = convert_html(SECTION_HTML)
    reuse.note_conversion(_page(SECTION_HTML), SECTION_HTML, converted)
    assert reuse.converted(_page(converted + "<p>后加的</p>")) is None
    assert reuse.converted(_page(converted)) is not None
