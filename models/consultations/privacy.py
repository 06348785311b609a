"""Stripping what is personal (脱敏) from a question and its answer before the public may read them.

A citizen's question often carries their phone number, ID number, name or home address, and an
operator's answer may repeat them. Before a Q&A entry is stored, every text of it goes through
`scrub`, which masks what it recognises and counts it by kind, so the operator sees what was taken
out. It runs on the operator's own edits too: nothing personal reaches the library by a retyping.

What is recognised (a heuristic: the operator reads the result before it is published):
- ID numbers (18 digits with a valid date, or the old 15 digits): starred whole;
- mobile numbers (11 digits from 13–19, with or without +86 and separators): starred whole;
- e-mail addresses, bank card and other long numbers (12 or more digits): starred whole;
- licence plates (浙A12345): starred after the province;
- names after words that introduce a person (我叫, 本人, 申请人, 我父亲 …) or before a form of
  address (先生, 女士 …), starting with a common surname: the surname stays, the given name is
  starred (张三 → 张*), as names are masked everywhere in government services;
- home addresses: the building, unit and room (3幢2单元501室) are starred. A street number alone
  (人民路100号), a floor or a window (2楼5号窗口, 3号楼) stay: that is how answers name the halls
  and offices citizens should go to.
Office telephone numbers with an area code (0571-87654321) and hotlines (12345) are not personal
and stay.
"""

from __future__ import annotations

import re
from collections import Counter

# The hundred-odd most common surnames (百家姓 by frequency), single and double.
SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚"
    "卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温"
    "康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂"
    "成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党"
    "宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
DOUBLE_SURNAMES = ("欧阳", "上官", "司马", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文", "司徒", "夏侯")

_ID_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])(?:[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
    r"|[1-9][0-9]{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3})(?![0-9A-Za-z])", re.ASCII)
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9])", re.ASCII)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", re.ASCII)
_LONG_NUMBER = re.compile(r"(?<![0-9-])[0-9](?: ?[0-9]){11,}(?![0-9])", re.ASCII)
_PLATE = re.compile(r"([京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼])([A-Z][A-Z0-9]{5,6})(?![A-Za-z0-9])")
# A home's building, unit and room; a floor or a window number (2楼5号窗口, 3号楼) is how offices are found.
_ADDRESS = re.compile(r"[0-9]+(?:幢|栋|号楼|座)[0-9]+单元[0-9]+(?:室|号)?|[0-9]+(?:幢|栋|号楼|座)[0-9]+室"
                      r"|[0-9]+单元[0-9]+(?:室|号)?|[0-9]+(?:幢|栋)(?:[0-9]{3,4}(?:室|号)?)?|[0-9]{3,4}室")
_NAME_BEFORE = ("我叫", "我是", "本人", "姓名", "名字叫", "名叫", "申请人", "联系人", "当事人", "我父亲", "我母亲",
                "我爸爸", "我妈妈", "我爸", "我妈", "我爱人", "我丈夫", "我妻子", "我老公", "我老婆", "我儿子", "我女儿",
                "我孩子", "孩子叫", "老人叫", "家属")
_NAME_AFTER = ("先生", "女士", "小姐", "同志", "阿姨", "师傅", "老先生", "老人家")
_CJK = "\u4e00-\u9fff"
# What may follow a name introduced by 我叫/本人…: punctuation, the end, or a word that starts the rest.
_AFTER_NAME = r"(?=[\s，,。.！!？?；;：:、）)]|$|想|要|在|的|今|现|去|是|办|申|咨|问|来|家|请|于|因|已|户|身|和|与)"
_INTRODUCED = re.compile(
    r"(?P<intro>" + "|".join(_NAME_BEFORE) + r")[：:\s]*(?P<name>(?:" + "|".join(DOUBLE_SURNAMES) + r")[" + _CJK +
    r"]{1,2}?|[" + "".join(sorted(SURNAMES)) + r"][" + _CJK + r"]{1,2}?)" + _AFTER_NAME)
_ADDRESSED = re.compile(
    r"(?P<name>[" + "".join(sorted(SURNAMES)) + r"][" + _CJK + r"]{1,2})(?P<title>" + "|".join(_NAME_AFTER) + ")")

KINDS = ("id_number", "phone", "email", "number", "plate", "name", "address")


def _stars(value: str) -> str:
    return "*" * len(value)


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧阳**: the surname stays."""
    surname = 2 if name[:2] in DOUBLE_SURNAMES else 1
    return name[:surname] + "*" * (len(name) - surname)


def scrub(text: str) -> tuple[str, Counter[str]]:
    """The text with what is personal masked, and how many of each kind were found."""
    found: Counter[str] = Counter()

    def starred(kind: str):
        def replace(match: re.Match[str]) -> str:
            found[kind] += 1
            return _stars(match.group(0))
        return replace

    text = _ID_NUMBER.sub(starred("id_number"), text)
    text = _MOBILE.sub(starred("phone"), text)
    text = _EMAIL.sub(starred("email"), text)
    text = _LONG_NUMBER.sub(starred("number"), text)

    def plate(match: re.Match[str]) -> str:
        found["plate"] += 1
        return match.group(1) + _stars(match.group(2))
    text = _PLATE.sub(plate, text)

    def introduced(match: re.Match[str]) -> str:
        found["name"] += 1
        return match.group(0).replace(match.group("name"), mask_name(match.group("name")), 1)
    text = _INTRODUCED.sub(introduced, text)

    def addressed(match: re.Match[str]) -> str:
        name = match.group("name")
        if "*" in name or len(name) < 2 or name[1:] in ("", "老"):
            return match.group(0)  # 张先生: a surname and a form of address identify nobody
        found["name"] += 1
        return mask_name(name) + match.group("title")
    text = _ADDRESSED.sub(addressed, text)
    text = _ADDRESS.sub(starred("address"), text)
    return text, found


def scrub_texts(texts: dict[str, str]) -> tuple[dict[str, str], Counter[str]]:
    """`scrub` of each translation of a localised text; the counts added up."""
    total: Counter[str] = Counter()
    out = {}
    for locale, value in texts.items():
        out[locale], found = scrub(value)
        total.update(found)
    return out, total
