"""The target extractor (jobs/target_extraction.py) on a hand-labelled set of sentences.

    python3 benchmarks/bench_target_extraction.py [--verbose]

Each sentence carries its publication date and the (threshold, deadline) pairs a reader
finds in it; an empty set means nothing may be proposed (no number, no deadline, a growth
rate, a forecast, a status or a past statistic). Sentences marked `real` are quoted from
the material behind data/ (/work/shared/data: policies*.csv notes and transcribed/*.csv
quotes; the id says which row); the others are written for this set.

Prints: found = labelled pairs proposed / all labelled pairs (goal >= 90 %); false
proposals = proposed pairs no label asks for (goal <= 2); per-language counts; with
--verbose every sentence's misses and false proposals. Exit 1 when a goal is missed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jobs.target_extraction import extract  # noqa: E402

D = dt.date


def Y(year: int, month: int = 12, day: int = 31) -> D:
    return D(year, month, day)


# (origin, language, published, text, {(threshold, deadline)})
LABELLED = [
    # --- English ---
    ("real P04 (KPMG 2015)", "en", D(2014, 12, 26),
     "By 2019 75 percent of information technology (IT) should be secure and controllable.", {(0.75, Y(2019))}),
    ("real P06/P07 (Wikipedia)", "en", D(2015, 5, 1),
     "Made in China 2025's goals include increasing the Chinese-domestic content of core materials to "
     "40 percent by 2020 and 70 percent by 2025.", {(0.4, Y(2020)), (0.7, Y(2025))}),
    ("real P08/P09 (IC Insights)", "en", D(2017, 2, 1),
     "The milestones in MIC 2025 are for China to be 40% self-sufficient in IC devices in 2020 and 70% "
     "in 2025.", {(0.4, Y(2020)), (0.7, Y(2025))}),
    ("real P11 (FT via Bloomberg)", "en", D(2019, 12, 8),
     "The goal is to substitute 30% of the technology next year, 50% in 2021 and 20% in 2022, the "
     "newspaper reported, citing estimates from analysts at the brokerage China Securities.",
     {(0.3, Y(2020)), (0.5, Y(2021)), (0.2, Y(2022))}),
    ("real N03 (Reuters summary): no deadline", "en", D(2025, 11, 6),
     "Data centres that are less than 30% complete are to remove all installed foreign chips, or cancel "
     "plans to purchase them.", set()),
    ("real N04 (Reuters): no deadline, no number", "en", D(2025, 6, 1),
     "Chipmakers seeking state approval to build or expand their plants must prove through procurement "
     "tenders that at least half their equipment will be Chinese-made.", set()),
    ("real P09 note (IC Insights): a forecast", "en", D(2021, 1, 7),
     "IC Insights forecast that China-produced ICs would be only 19.4% of its IC market in 2025.", set()),
    ("written", "en", D(2023, 3, 1),
     "Banks must raise the share of domestic core systems to 50% by the end of 2025.", {(0.5, Y(2025))}),
    ("written: growth rate", "en", D(2024, 1, 10),
     "The domestic server market is set to grow by 20% a year through 2027.", set()),
    ("written: growth rate", "en", D(2024, 2, 1),
     "Sales of domestic operating systems grew 35% year-on-year in 2023.", set()),
    ("written: past statistic", "en", D(2014, 4, 25),
     "Domestic vendors held 61% of China's x86 server market in 2013.", set()),
    ("written", "en", D(2024, 3, 7),
     "Central SOEs are required to complete 100% replacement of foreign office software before 2027.",
     {(1.0, Y(2027))}),
    ("written", "en", D(2024, 5, 1),
     "The plan sets a target of 70 per cent self-sufficiency in chips by 2030.", {(0.7, Y(2030))}),
    ("written", "en", D(2024, 5, 1),
     "Government agencies should use domestic operating systems on at least 60 pct of desktops by "
     "end-2026.", {(0.6, Y(2026))}),
    ("written: no deadline", "en", D(2022, 6, 1),
     "Domestic databases accounted for 47% of new deployments, up from 2020 levels.", set()),
    ("written", "en", D(2025, 2, 1),
     "Hospitals will replace 30% of foreign medical IT systems in 2026 and a further 40% in 2027.",
     {(0.3, Y(2026)), (0.4, Y(2027))}),
    ("written: past statistic", "en", D(2025, 1, 15),
     "HarmonyOS had a 17% share of China's smartphone market in 2024.", set()),
    ("written: no deadline", "en", D(2024, 9, 1),
     "The ministry wants domestic chips to make up at least 50% of procurement.", set()),
    ("written: status", "en", D(2025, 1, 2),
     "About 80% of party and government systems still need to be adapted before 2027.", set()),
    # --- Chinese ---
    ("real N05 (handmsg 2022, MIC2025 roadmap)", "zh", D(2020, 1, 1),
     "按照中国制造2025重点领域技术创新的路线图,到2025年,国产工业软件绝大部分核心技术要取得突破,"
     "自主工业软件市场占有率要超过50%。", {(0.5, Y(2025))}),
    ("real N06 (secondary blog)", "zh", D(2025, 10, 15),
     "政策方面,国资委要求2027年央企100%完成信创替换。", {(1.0, Y(2027))}),
    ("real N07 (MIIT 12th FYP IC plan)", "zh", D(2011, 2, 24),
     "到“十二五”末,集成电路产量超过1500亿块,销售收入达3300亿元……占世界集成电路市场份额的15%左右,"
     "满足国内近30%的市场需求;……国内重点整机应用自主开发集成电路产品的比例达到30%以上。",
     {(0.15, Y(2015)), (0.3, Y(2015))}),
    ("real N01 (Xinhua 2014): a growth rate", "zh", D(2014, 6, 24),
     "2020年与国际先进水平的差距逐步缩小,全行业销售收入年均增速超过20%。", set()),
    ("real N08 (21st Century Business Herald): no number", "zh", D(2024, 10, 21),
     "根据金融信创的监管要求,截至2027年金融机构所有系统需实现全部信创化。", set()),
    ("real P20 (chinapp 2025): a status", "zh", D(2025, 1, 2),
     "以广东省为例,截至2024年11月,全省乡镇(街道)以上党政机关仍有近80%的系统需要在2027年前完成信创适配改造或下线计划。",
     set()),
    ("real china_cpu_share (Guancha): past statistic", "zh", D(2025, 1, 1),
     "中国电信自2020年首次将国产CPU服务器列入采购名单,当时国产CPU服务器占比仅为19.9%,而英特尔CPU占比高达79.4%。",
     set()),
    ("real china_cpu_share (Guancha): a reported tender share", "zh", D(2025, 1, 1),
     "最新数据显示,2024至2025年,中国电信计划采购15.6万台服务器,指定采用国产CPU的G系列服务器占比跃升至67.5%,即10.53万台。",
     set()),
    ("real china_ai_chip_share (TrendForce): a forecast", "zh", D(2025, 5, 15),
     "中国AI服务器市场预计外购英伟达、AMD等芯片比例会从2024年约63%下降至2025年约42%,与此同时,"
     "在国家政策支持下,中国本土芯片供应商的市场份额有望在2025年提升至40%。", set()),
    ("real pc_os (Soochow Securities): a forecast", "zh", D(2022, 6, 1),
     "根据东吴证券预测,2025年中国操作系统市场规模将达到586亿元,国产化替代率超过35%。", set()),
    ("real xinchuang (信创工委会): past statistic", "zh", D(2024, 3, 1),
     "信创工委会数据显示,2023年党政机关采购目录内整机国产化率已突破75%。", set()),
    ("written", "zh", D(2024, 1, 1), "到2027年,党政机关国产化率达到100%。", {(1.0, Y(2027))}),
    ("written", "zh", D(2023, 6, 1),
     "力争到2025年底,银行核心系统国产化替代比例不低于百分之七十。", {(0.7, Y(2025))}),
    ("written", "zh", D(2024, 4, 1), "2026年前,央企办公软件国产化率要达到七成以上。", {(0.7, Y(2026))}),
    ("written", "zh", D(2024, 4, 1), "到2030年,芯片自给率提升至百分之七十五。", {(0.75, Y(2030))}),
    ("written: full-width digits", "zh", D(2025, 3, 1),
     "电信运营商服务器国产化率需在２０２６年６月底前达到８０％。", {(0.8, Y(2026, 6, 30))}),
    ("written: five-year plan", "zh", D(2022, 3, 1),
     "力争“十四五”末关键行业信创替代比例达到五成。", {(0.5, Y(2025))}),
    ("written: growth rate", "zh", D(2024, 2, 1), "2023年国产数据库市场规模同比增长35%。", set()),
    ("written: no deadline", "zh", D(2024, 2, 1), "目前党政机关国产操作系统替代比例已超过60%。", set()),
    ("written: past statistic", "zh", D(2022, 5, 1), "2021年底,金融行业信创落地实践率为29.55%。", set()),
    ("written", "zh", D(2025, 1, 1),
     "到2026年,电力行业国产芯片使用比例达到30%,2028年达到60%。", {(0.3, Y(2026)), (0.6, Y(2028))}),
    ("written: no deadline", "zh", D(2024, 8, 1), "国产手机品牌占据了七成市场份额。", set()),
    ("written", "zh", D(2023, 9, 1), "要求2025年前完成百分之百的国产化替代。", {(1.0, Y(2025))}),
]


def score(labelled=LABELLED) -> dict:
    """Counts per language: labelled pairs, found, false proposals, and the sentences' details."""
    totals: dict[str, dict] = {}
    details = []
    for origin, language, published, text, expected in labelled:
        got = {(c.threshold, c.deadline) for c in extract(text, published)}
        row = totals.setdefault(language, {"sentences": 0, "labelled": 0, "found": 0, "false": 0})
        row["sentences"] += 1
        row["labelled"] += len(expected)
        row["found"] += len(expected & got)
        row["false"] += len(got - expected)
        details.append((origin, language, text, sorted(expected - got), sorted(got - expected)))
    return {"by_language": totals, "details": details}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="every sentence's misses and false proposals")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = score()
    seconds = time.perf_counter() - started
    all_rows = result["by_language"].values()
    labelled = sum(r["labelled"] for r in all_rows)
    found = sum(r["found"] for r in all_rows)
    false = sum(r["false"] for r in all_rows)
    sentences = sum(r["sentences"] for r in all_rows)
    for language, row in sorted(result["by_language"].items()):
        print(f"{language}: {row['sentences']} sentences, {row['found']}/{row['labelled']} labelled pairs "
              f"found, {row['false']} false proposal(s)")
    print(f"all: {sentences} sentences, found {found}/{labelled} = {found / labelled:.1%} (goal >= 90%), "
          f"{false} false proposal(s) (goal <= 2), {seconds * 1000:.1f} ms")
    for origin, language, text, missed, extra in result["details"]:
        if args.verbose and (missed or extra):
            print(f"  [{language}] {origin}: missed {missed or '-'}, false {extra or '-'}\n      {text}")
    return 0 if found / labelled >= 0.9 and false <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
