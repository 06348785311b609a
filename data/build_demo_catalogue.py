"""Build data/demo_catalogue.json: the demo city 示范市 (region 330100) and its service items.

Run from the project root:  .venv/bin/python data/build_demo_catalogue.py
It writes the JSON and checks every item against the publish gate and the misfiling check
(exit status 1 and a list of problems when one fails). Edit the item specs below, never the JSON.

The city, its districts, halls, addresses and phone numbers are fictitious; the laws, materials,
steps, time limits and fees follow public guides of common services in mainland China.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASE_URL = "https://zwfw.shifan.example"
OUT = ROOT / "data" / "demo_catalogue.json"


def L(zh: str, en: str | None = None) -> dict[str, str]:
    return {"zh-CN": zh, "en": en} if en else {"zh-CN": zh}


# ---- regions ----------------------------------------------------------------------------------
REGIONS = [
    ("330000", "示范省", "Shifan Province", "province", None),
    ("330100", "示范市", "Shifan City", "city", "330000"),
    ("330102", "东湖区", "Donghu District", "county", "330100"),
    ("330105", "西山区", "Xishan District", "county", "330100"),
    ("330106", "南江区", "Nanjiang District", "county", "330100"),
    ("330110", "北塘区", "Beitang District", "county", "330100"),
    ("330122", "青溪县", "Qingxi County", "county", "330100"),
    ("330182", "云岭市", "Yunling City (county-level)", "county", "330100"),
]

# ---- departments: code, zh, en, consultation phone, keywords (misfiling check) ---------------
DEPARTMENTS = [
    ("gongan", "示范市公安局", "Shifan Public Security Bureau", "0571-87280110",
     ["户口", "户籍", "落户", "出生登记", "身份证", "居住证", "护照", "通行证", "出入境", "签注", "无犯罪", "迁移", "注销"]),
    ("jiaojing", "示范市公安局交通警察支队", "Shifan Traffic Police Detachment", "0571-87280122",
     ["驾驶证", "驾照", "机动车", "车辆", "交通违法", "违章", "年检", "上牌", "号牌"]),
    ("shichang", "示范市市场监督管理局", "Shifan Administration for Market Regulation", "0571-87281315",
     ["企业", "公司", "个体工商户", "营业执照", "设立登记", "变更登记", "注销登记", "食品", "特种设备", "药品"]),
    ("renshe", "示范市人力资源和社会保障局", "Shifan Human Resources and Social Security Bureau", "0571-87282333",
     ["社保", "社会保险", "社会保障卡", "养老", "失业", "就业", "创业", "工伤", "退休", "资格认证", "丧葬", "参保"]),
    ("yibao", "示范市医疗保障局", "Shifan Healthcare Security Administration", "0571-87283580",
     ["医保", "医疗保险", "医疗保障", "就医", "慢特病", "生育津贴", "生育保险", "医疗费用"]),
    ("gjj", "示范市住房公积金管理中心", "Shifan Housing Provident Fund Management Center", "0571-87284050",
     ["公积金"]),
    ("ziranziyuan", "示范市自然资源和规划局", "Shifan Natural Resources and Planning Bureau", "0571-87285880",
     ["不动产", "房产", "抵押", "预告登记", "土地", "规划"]),
    ("minzheng", "示范市民政局", "Shifan Civil Affairs Bureau", "0571-87286120",
     ["婚姻", "结婚", "离婚", "低保", "最低生活保障", "救助", "高龄", "殡葬", "社会团体", "补贴", "养老机构"]),
    ("jiaoyu", "示范市教育局", "Shifan Education Bureau", "0571-87287123",
     ["教师", "教资", "入学", "学籍", "转学", "学校"]),
    ("shuiwu", "国家税务总局示范市税务局", "Shifan Taxation Bureau, State Taxation Administration", "0571-12366",
     ["税", "发票", "完税", "纳税", "汇算"]),
    ("weijian", "示范市卫生健康委员会", "Shifan Health Commission", "0571-87288120",
     ["出生医学证明", "生育登记", "医师", "护士", "卫生许可", "医疗机构", "准生"]),
    ("canlian", "示范市残疾人联合会", "Shifan Disabled Persons' Federation", "0571-87289255",
     ["残疾"]),
    ("jiaotong", "示范市交通运输局", "Shifan Transport Bureau", "0571-87290890",
     ["道路运输", "出租汽车", "网约车", "驾驶员培训", "驾校", "货运", "客运"]),
    ("shengtai", "示范市生态环境局", "Shifan Ecology and Environment Bureau", "0571-87291369",
     ["排污", "环境影响", "环评", "危险废物", "辐射"]),
    ("zhujian", "示范市住房和城乡建设局", "Shifan Housing and Urban-Rural Development Bureau", "0571-87292200",
     ["公租房", "公共租赁住房", "施工许可", "预售", "商品房", "网签", "建筑"]),
    ("tuiyi", "示范市退役军人事务局", "Shifan Veterans Affairs Bureau", "0571-87293811",
     ["退役", "军人", "优待证", "优抚"]),
    ("wenguang", "示范市文化广电旅游局", "Shifan Culture, Radio, Television and Tourism Bureau", "0571-87294312",
     ["旅行社", "娱乐场所", "演出", "文物", "上网服务"]),
    ("minzong", "示范市民族宗教事务局", "Shifan Ethnic and Religious Affairs Bureau", "0571-87295100",
     ["民族", "宗教", "少数民族"]),
]

# ---- themes (life events): code, zh, en, keywords ---------------------------------------------
THEMES = [
    ("birth", "生育收养", "Birth and adoption", ["出生", "生育", "新生儿", "准生", "婴儿", "收养", "产假"]),
    ("household", "户籍身份", "Household registration and ID", ["户口", "户籍", "落户", "身份证", "居住证", "出生登记", "迁移", "无犯罪"]),
    ("education", "教育入学", "Education", ["入学", "学籍", "转学", "教师", "教资", "学校", "上学"]),
    ("employment", "就业创业", "Jobs and entrepreneurship", ["就业", "失业", "创业", "从业资格", "执业", "职业", "工伤", "个体", "教师资格"]),
    ("marriage", "婚姻登记", "Marriage", ["结婚", "离婚", "婚姻"]),
    ("housing", "住房置业", "Housing", ["住房", "公积金", "不动产", "房产", "公租房", "房屋", "购房", "商品房", "契税", "过户"]),
    ("travel", "出境出行", "Travel abroad", ["护照", "通行证", "港澳", "台湾", "出入境", "签注"]),
    ("vehicle", "机动车驾驶", "Vehicles and driving", ["驾驶证", "驾照", "机动车", "车辆", "交通违法", "违章", "年检", "上牌", "网约车", "出租汽车", "驾驶员"]),
    ("social_security", "社会保险", "Social insurance", ["社保", "社会保险", "社会保障卡", "医保", "医疗保险", "养老保险", "失业", "工伤", "生育保险", "生育津贴", "参保", "养老金", "丧葬补助金"]),
    ("medical", "医疗健康", "Health and medical care", ["医保", "医疗", "就医", "慢特病", "医师", "护士", "出生医学证明", "卫生"]),
    ("pension", "养老服务", "Retirement and old age", ["养老", "退休", "高龄", "老年", "资格认证"]),
    ("business", "开办企业", "Starting and running a business", ["企业", "公司", "个体", "营业执照", "设立登记", "变更登记", "注销", "食品", "经营许可", "发票", "特种设备", "药品", "旅行社", "娱乐场所", "道路运输", "货运", "卫生许可", "经营备案"]),
    ("tax", "纳税缴费", "Tax", ["税", "发票", "完税", "纳税", "汇算"]),
    ("social_assistance", "社会救助", "Social assistance", ["低保", "最低生活保障", "补贴", "救助", "减免", "公租房", "廉租房"]),
    ("disability", "残疾人服务", "Disability services", ["残疾"]),
    ("veteran", "退役军人", "Veterans", ["退役", "军人", "优待证"]),
    ("environment", "生态环保", "Environment", ["排污", "环境影响", "环评", "危险废物"]),
    ("construction", "工程建设", "Construction projects", ["施工", "建筑", "预售", "工程", "网签", "建设项目"]),
    ("funeral", "身后事", "After a death", ["殡葬", "丧葬", "死亡", "抚恤"]),
    ("social_organization", "社会组织", "Social organisations", ["社会团体", "社团", "协会", "商会", "民办非企业"]),
    ("military", "兵役征集", "Military service", ["兵役", "征兵", "入伍"]),
]

# ---- halls: key -> (name zh, name en, address zh, address en, hours zh, hours en) -------------
WEEKDAYS = ("周一至周五 9:00-12:00、13:30-17:00（法定节假日除外）",
            "Mon-Fri 9:00-12:00 and 13:30-17:00, closed on public holidays")
WEEKDAYS_SAT = ("周一至周五 8:30-12:00、13:30-17:30；周六 9:00-12:00（法定节假日除外）",
                "Mon-Fri 8:30-12:00 and 13:30-17:30; Sat 9:00-12:00; closed on public holidays")
ALL_WEEK = ("周一至周日 8:30-17:00（春节假期除外）", "Every day 8:30-17:00, except the Spring Festival holiday")
HALLS = {
    "citizen_center": ("示范市民中心", "Shifan Citizen Service Center",
                       "示范市东湖区市民大道88号市民中心A座", "Building A, 88 Shimin Avenue, Donghu District", *WEEKDAYS_SAT),
    "exit_entry": ("示范市公安局出入境接待大厅", "Exit-Entry Reception Hall, Shifan Public Security Bureau",
                   "示范市西山区解放路120号", "120 Jiefang Road, Xishan District", *WEEKDAYS_SAT),
    "police_donghu": ("东湖派出所户籍室", "Household Registration Desk, Donghu Police Station",
                      "示范市东湖区湖滨路15号", "15 Hubin Road, Donghu District", *WEEKDAYS),
    "police_nanjiang": ("南江派出所户籍室", "Household Registration Desk, Nanjiang Police Station",
                        "示范市南江区江城路46号", "46 Jiangcheng Road, Nanjiang District", *WEEKDAYS),
    "vehicle_office": ("示范市公安局交通警察支队车辆管理所", "Vehicle Administration Office, Shifan Traffic Police",
                       "示范市北塘区通运路58号", "58 Tongyun Road, Beitang District", *ALL_WEEK),
    "traffic_service": ("北塘交警服务站", "Beitang Traffic Police Service Station",
                        "示范市北塘区北塘大道210号", "210 Beitang Avenue, Beitang District", *WEEKDAYS_SAT),
    "market": ("示范市民中心市场监管窗口", "Market Regulation Windows, Shifan Citizen Service Center",
               "示范市东湖区市民大道88号市民中心B座2楼", "2F Building B, 88 Shimin Avenue, Donghu District", *WEEKDAYS),
    "social_security": ("示范市社会保险服务中心", "Shifan Social Insurance Service Center",
                        "示范市东湖区市民大道88号市民中心C座1楼", "1F Building C, 88 Shimin Avenue, Donghu District", *WEEKDAYS_SAT),
    "employment": ("示范市就业服务中心", "Shifan Employment Service Center",
                   "示范市西山区文化路35号", "35 Wenhua Road, Xishan District", *WEEKDAYS),
    "medical_insurance": ("示范市医疗保障服务中心", "Shifan Healthcare Security Service Center",
                          "示范市东湖区庆春路66号", "66 Qingchun Road, Donghu District", *WEEKDAYS_SAT),
    "housing_fund": ("示范市住房公积金管理中心服务大厅", "Service Hall, Shifan Housing Provident Fund Center",
                     "示范市东湖区延安路100号", "100 Yan'an Road, Donghu District", *WEEKDAYS_SAT),
    "real_estate": ("示范市不动产登记服务中心", "Shifan Real Estate Registration Center",
                    "示范市南江区江城路300号", "300 Jiangcheng Road, Nanjiang District", *WEEKDAYS_SAT),
    "marriage": ("示范市婚姻登记中心", "Shifan Marriage Registration Center",
                 "示范市东湖区西溪路20号", "20 Xixi Road, Donghu District",
                 "周一至周五 8:30-12:00、13:30-17:00；5月20日、七夕等特殊日期另行公告",
                 "Mon-Fri 8:30-12:00 and 13:30-17:00; special dates announced separately"),
    "civil_affairs": ("示范市民政局社会事务窗口", "Social Affairs Window, Shifan Civil Affairs Bureau",
                      "示范市民中心B座3楼", "3F Building B, Shifan Citizen Service Center", *WEEKDAYS),
    "education": ("示范市教育局政务服务窗口", "Service Window, Shifan Education Bureau",
                  "示范市西山区学院路18号", "18 Xueyuan Road, Xishan District", *WEEKDAYS),
    "tax": ("国家税务总局示范市税务局第一办税服务厅", "First Tax Service Hall, Shifan Taxation Bureau",
            "示范市西山区新华路200号", "200 Xinhua Road, Xishan District", *WEEKDAYS_SAT),
    "health": ("示范市卫生健康委员会审批窗口", "Licensing Window, Shifan Health Commission",
               "示范市民中心B座4楼", "4F Building B, Shifan Citizen Service Center", *WEEKDAYS),
    "hospital": ("示范市妇幼保健院出生医学证明办理窗口", "Birth Certificate Desk, Shifan Maternal and Child Health Hospital",
                 "示范市东湖区保健路9号门诊楼1楼", "1F Outpatient Building, 9 Baojian Road, Donghu District", *WEEKDAYS),
    "disabled": ("示范市残疾人综合服务中心", "Shifan Comprehensive Service Center for Disabled Persons",
                 "示范市南江区康乐路12号", "12 Kangle Road, Nanjiang District", *WEEKDAYS),
    "transport": ("示范市交通运输局行政审批窗口", "Licensing Window, Shifan Transport Bureau",
                  "示范市民中心B座5楼", "5F Building B, Shifan Citizen Service Center", *WEEKDAYS),
    "environment": ("示范市生态环境局审批窗口", "Licensing Window, Shifan Ecology and Environment Bureau",
                    "示范市民中心B座5楼", "5F Building B, Shifan Citizen Service Center", *WEEKDAYS),
    "construction": ("示范市住房和城乡建设局审批窗口", "Licensing Window, Shifan Housing and Construction Bureau",
                     "示范市民中心B座6楼", "6F Building B, Shifan Citizen Service Center", *WEEKDAYS),
    "veterans": ("示范市退役军人服务中心", "Shifan Veterans Service Center",
                 "示范市北塘区拥军路8号", "8 Yongjun Road, Beitang District", *WEEKDAYS),
    "culture": ("示范市文化广电旅游局审批窗口", "Licensing Window, Shifan Culture and Tourism Bureau",
                "示范市民中心B座6楼", "6F Building B, Shifan Citizen Service Center", *WEEKDAYS),
    "donghu_center": ("东湖区政务服务中心", "Donghu District Government Service Center",
                      "示范市东湖区东湖路200号", "200 Donghu Road, Donghu District", *WEEKDAYS_SAT),
    "nanjiang_center": ("南江区行政服务中心", "Nanjiang District Administrative Service Center",
                        "示范市南江区江南大道1号", "1 Jiangnan Avenue, Nanjiang District", *WEEKDAYS_SAT),
    "qingxi_center": ("青溪县政务服务中心", "Qingxi County Government Service Center",
                      "示范市青溪县溪城镇府前路8号", "8 Fuqian Road, Xicheng Town, Qingxi County", *WEEKDAYS),
    "yunling_center": ("云岭市市民之家", "Yunling Citizen Home",
                       "示范市云岭市云峰街道人民路66号", "66 Renmin Road, Yunfeng Subdistrict, Yunling", *WEEKDAYS_SAT),
}

# ---- materials ---------------------------------------------------------------------------------
TYPES = ["image/jpeg", "image/png", "application/pdf"]


def mat(key: str, zh: str, en: str | None = None, ooc: str = "original", copies: int = 1, medium: str = "both",
        fmt: str | None = None, fmt_en: str | None = None, required: bool = True, template: bool = False,
        sample: bool = False, max_mb: int = 5) -> dict[str, Any]:
    """One material; `template`/`sample` get download links under the item's code when built."""
    m: dict[str, Any] = {"key": key, "name": L(zh, en), "original_or_copy": ooc, "copies": copies,
                         "medium": medium, "required": required}
    if fmt:
        m["format_rules"] = L(fmt, fmt_en)
    if template:
        m["template_url"] = True
    if sample:
        m["sample_url"] = True
    if medium in ("electronic", "both"):
        m["allowed_types"] = list(TYPES)
        m["max_bytes"] = max_mb * 1024 * 1024
    return m


def opt(m: dict[str, Any]) -> dict[str, Any]:
    return {**m, "required": False}


ID_CARD = mat("id_card", "居民身份证", "Resident identity card", fmt="在有效期内；电子证照可替代实体证件",
              fmt_en="Must be valid; the electronic licence may replace the card")
HUKOU = mat("hukou_book", "居民户口簿", "Household register booklet", fmt="提交户主页及本人页", fmt_en="Head-of-household page and own page")
PHOTO = mat("photo", "近期正面免冠彩色照片", "Recent colour photo", copies=2,
            fmt="近6个月内白色背景正面免冠彩色照片，尺寸33mm×48mm，头部宽度21-24mm；可在受理窗口现场免费采集",
            fmt_en="White background, 33x48 mm, taken within 6 months; can be taken free at the window")
AGENT_ID = opt(mat("agent_id_card", "代理人居民身份证", "Agent's identity card", fmt="委托他人代办时提交",
                   fmt_en="When an agent applies"))
POWER_OF_ATTORNEY = opt(mat("power_of_attorney", "授权委托书", "Power of attorney", medium="paper", template=True,
                            fmt="委托他人代办时提交，须委托人亲笔签名", fmt_en="Signed by the applicant in person"))
BIZ_LICENSE = mat("business_license", "营业执照", "Business licence", fmt="电子营业执照可替代",
                  fmt_en="The electronic business licence is accepted")
LEGAL_REP_ID = mat("legal_rep_id", "法定代表人居民身份证", "Legal representative's identity card")
PROPERTY_CERT = mat("property_cert", "不动产权证书", "Real estate title certificate",
                    fmt="原《房屋所有权证》《国有土地使用证》可替代", fmt_en="Old house ownership and land use certificates are accepted")
MARRIAGE_CERT = mat("marriage_cert", "结婚证", "Marriage certificate", fmt="已婚申请人提交", fmt_en="For married applicants")
BANK_CARD = mat("bank_card", "本人社会保障卡或银行借记卡", "Own social security card or debit card",
                fmt="用于发放待遇，须为本人名下一类账户", fmt_en="Benefits are paid to this account; must be in the applicant's name")
DRIVING_LICENCE = mat("driving_licence", "机动车驾驶证", "Driving licence")
HEALTH_CERT = mat("health_certificate", "机动车驾驶人身体条件证明", "Driver's medical certificate",
                  fmt="由二级以上医院或有资质的体检机构出具，6个月内有效；已在医院上传电子证明的无需提交纸质件",
                  fmt_en="Issued by a qualified hospital within 6 months; not needed when uploaded electronically")


def step_list(*steps: str) -> list[dict[str, str]]:
    return [L(s) for s in steps]


def field(key: str, zh: str, en: str, kind: str = "string", **extra: Any) -> tuple[str, dict[str, Any]]:
    prop: dict[str, Any] = {"type": kind, "title": zh, "x-title-en": en}
    prop.update(extra)
    return key, prop


PERSON_FIELDS = [
    field("applicant_name", "申请人姓名", "Applicant's name", maxLength=30),
    field("id_number", "公民身份号码", "Citizen ID number", pattern="^[0-9]{17}[0-9Xx]$"),
    field("phone", "手机号码", "Mobile phone", pattern="^1[3-9][0-9]{9}$"),
]
COMPANY_FIELDS = [
    field("company_name", "单位名称", "Organisation name", maxLength=100),
    field("credit_code", "统一社会信用代码", "Unified social credit code", pattern="^[0-9A-HJ-NPQRTUWXY]{18}$"),
    field("contact_name", "经办人姓名", "Contact person", maxLength=30),
    field("phone", "经办人手机号码", "Contact's mobile phone", pattern="^1[3-9][0-9]{9}$"),
]
POST_FIELDS = [
    field("delivery", "领取方式", "How to receive the result", enum=["window", "post"],
          **{"x-enum-titles": {"zh-CN": ["窗口领取", "邮政寄递"], "en": ["Collect at the window", "By post"]}}),
    field("post_address", "邮寄地址", "Postal address", maxLength=200),
]


def form(fields: list[tuple[str, dict[str, Any]]], base: str = "person", post: bool = False,
         optional: tuple[str, ...] = ()) -> dict[str, Any]:
    head = PERSON_FIELDS if base == "person" else COMPANY_FIELDS
    all_fields = list(head) + list(fields) + (list(POST_FIELDS) if post else [])
    props = dict(all_fields)
    required = [k for k, _ in all_fields if k not in optional and k not in ("post_address", "delivery")]
    return {"type": "object", "required": required, "properties": props, "additionalProperties": False}


ITEMS: list[dict[str, Any]] = []
DRAFTS: list[dict[str, Any]] = []
DEPT_PHONE = {d[0]: d[3] for d in DEPARTMENTS}


def item(code: str, name: tuple[str, str], dept: str, themes: list[str], aliases: list[str], *,
         law: str | tuple[str, str], cond: str | tuple[str, str], mats: list[dict[str, Any]],
         steps: list[str] | list[tuple[str, str]], limit: tuple[int, int], fee: tuple[int, str] | None,
         halls: list[str], result: tuple[str, str], post: bool | str = False, form_fields: list | None = None,
         form_base: str = "person", audience: str = "personal", depth: str = "at_most_one_visit",
         region: str = "330100", phone: str | None = None, supervision: str = "12345",
         result_sample: bool = True, target: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One service item in the shape of docs/service-item.md."""
    materials = []
    for m in mats:
        m = json.loads(json.dumps(m))
        if m.pop("template_url", None):
            m["template_url"] = f"{BASE_URL}/files/templates/{code}/{m['key']}.docx"
            m["sample_url"] = f"{BASE_URL}/files/samples/{code}/{m['key']}.pdf"
        if m.pop("sample_url", None) and "sample_url" not in m:
            m["sample_url"] = f"{BASE_URL}/files/samples/{code}/{m['key']}.pdf"
        materials.append(m)
    process = [L(*s) if isinstance(s, tuple) else L(s) for s in steps]
    if isinstance(post, str):
        delivery = {"by_post": True, "note": L(post)}
    elif post:
        delivery = {"by_post": True, "note": L("可选择邮政EMS寄递，寄递费用由申请人承担",
                                                 "Can be sent by EMS; postage is paid by the applicant")}
    else:
        delivery = {"by_post": False, "note": L("须本人到窗口领取", "Collect in person at the window")}
    doc: dict[str, Any] = {
        "code": code,
        "name": L(*name),
        "aliases": aliases,
        "department": dept,
        "region_code": region,
        "audience": {"personal": ["personal"], "enterprise": ["enterprise"],
                     "both": ["personal", "enterprise"]}[audience],
        "themes": themes,
        "handling_depth": depth,
        "guide": {
            "legal_basis": L(*law) if isinstance(law, tuple) else L(law),
            "conditions": L(*cond) if isinstance(cond, tuple) else L(cond),
            "materials": materials,
            "process": process,
            "legal_time_limit_days": limit[0],
            "promised_time_limit_days": limit[1],
            "fee": {"free": True} if fee is None else {"free": False, "amount_fen": fee[0], "basis": L(fee[1])},
            "locations": [{"name": L(h[0], h[1]), "address": L(h[2], h[3]), "office_hours": L(h[4], h[5])}
                          for h in (HALLS[k] for k in halls)],
            "consultation_phone": phone or DEPT_PHONE[dept],
            "supervision_phone": supervision,
            "result": {"name": L(*result)},
            "delivery": delivery,
        },
    }
    if result_sample:
        doc["guide"]["result"]["sample_url"] = f"{BASE_URL}/files/samples/{code}/result.pdf"
    if form_fields is not None:
        doc["form_schema"] = form(form_fields, form_base, post=bool(post))
    (ITEMS if target is None else target).append(doc)
    return doc


FEE_PASSPORT = "《国家发展改革委 财政部关于降低部分行政事业性收费标准的通知》（发改价格〔2019〕914号）：普通护照每本120元"
FEE_HKMO = "《国家发展改革委 财政部关于降低部分行政事业性收费标准的通知》（发改价格〔2019〕914号）：往来港澳通行证（电子证件）每证60元"
FEE_ID = "《国家发展改革委 财政部关于居民身份证收费标准及有关问题的通知》（发改价格〔2003〕2322号）"
FEE_TRAFFIC = "《国家发展改革委 财政部关于公安交通管理收费标准及有关问题的通知》（发改价格〔2004〕2831号）"
FEE_REAL_ESTATE = "《国家发展改革委 财政部关于不动产登记收费标准等有关问题的通知》（发改价格规〔2016〕2559号）：住宅类不动产登记每件80元"


# =============================================================================================
# 公安 (户籍、身份证、出入境)
# =============================================================================================
APPLICATION_FORM_EXIT = mat("exit_entry_form", "中国公民出入境证件申请表", "Exit-entry document application form",
                            medium="paper", template=True, fmt="可在窗口现场填写，或在线预填后打印",
                            fmt_en="Fill in at the window or pre-fill online and print")

item("GA-0001", ("普通护照签发", "Ordinary passport issuance"), "gongan", ["travel"],
     ["办护照", "护照办理", "申领护照", "首次申请护照", "出国护照"],
     law=("《中华人民共和国护照法》第五条、第六条；《中华人民共和国出境入境管理法》第九条、第十条",
          "Passport Law of the PRC, Articles 5 and 6; Exit and Entry Administration Law of the PRC, Articles 9 and 10"),
     cond=("具有中华人民共和国国籍、因定居、探亲、学习、就业、旅行、从事商务活动等非公务原因出国的中国公民；"
           "申请人不属于《中华人民共和国护照法》第十三条规定不予签发护照的情形。"
           "可在全国任一公安机关出入境管理机构申请。",
           "Chinese citizens going abroad for non-official reasons (settlement, family visits, study, work, travel, "
           "business) who are not barred under Article 13 of the Passport Law; apply at any exit-entry office."),
     mats=[ID_CARD, opt(HUKOU), PHOTO, APPLICATION_FORM_EXIT,
           opt(mat("guardian_consent", "监护人同意出境的意见书", "Guardian's consent to travel", medium="paper", template=True,
                   fmt="未满16周岁者由监护人陪同并提交", fmt_en="For applicants under 16, with a guardian present"))],
     steps=[("登录“示范政务”小程序或到出入境接待大厅取号，可预约办理时段。",
             "Book a time in the Shifan mini-program or take a ticket at the exit-entry hall."),
            ("在窗口交验居民身份证，现场免费采集照片和指纹，核对填写出入境证件申请表并签名。",
             "Show your ID card; photo and fingerprints are taken free; check and sign the application form."),
            ("受理民警审核材料并出具受理回执，申请人按回执缴纳证件费120元。",
             "The officer checks the papers and gives a receipt; pay the 120 yuan fee."),
            ("出入境管理机构审批制证，7个工作日内办结，办结后短信通知。",
             "The passport is approved and made within 7 working days; an SMS tells you it is ready."),
            ("凭受理回执和身份证到窗口领取，或按申请时选择的方式由EMS寄递到家。",
             "Collect it with the receipt and ID card, or receive it by EMS if you chose delivery.")],
     limit=(15, 7), fee=(12000, FEE_PASSPORT), halls=["exit_entry", "citizen_center"],
     result=("中华人民共和国普通护照", "Ordinary passport of the PRC"), post=True,
     form_fields=[field("purpose", "出境事由", "Purpose of travel", enum=["旅游", "探亲访友", "商务", "学习", "就业", "定居", "其他"]),
                  field("destination", "前往国家（地区）", "Destination country or region", maxLength=60)])

item("GA-0002", ("普通护照换发和补发", "Ordinary passport renewal and replacement"), "gongan", ["travel"],
     ["换护照", "护照换发", "护照补发", "护照过期", "护照丢了", "补办护照"],
     law="《中华人民共和国护照法》第十一条；《中华人民共和国普通护照和出入境通行证签发管理办法》第十二条、第十三条",
     cond="持有的普通护照有效期即将届满（不足6个月）、签证页即将使用完毕、护照损毁不能使用、遗失或者被盗，或有正当理由需要换发的中国公民。",
     mats=[ID_CARD, PHOTO, APPLICATION_FORM_EXIT,
           mat("old_passport", "原普通护照", "Current passport", fmt="换发时交回原护照；遗失、被盗的免交", fmt_en="Return it when renewing"),
           opt(mat("loss_statement", "护照遗失情况说明", "Statement of loss", medium="paper", template=True,
                   fmt="护照遗失或被盗申请补发时填写", fmt_en="When the passport was lost or stolen"))],
     steps=["通过“示范政务”小程序预约或到出入境接待大厅取号。",
            "交验身份证和原护照（遗失的填写遗失情况说明），现场采集照片和指纹。",
            "窗口审核通过后出具受理回执，申请人缴纳证件费120元；原护照由窗口剪角作废后退还。",
            "出入境管理机构在7个工作日内审批制证，完成后短信通知领取。",
            "凭回执到窗口领取新护照，或选择EMS寄递。"],
     limit=(15, 7), fee=(12000, FEE_PASSPORT), halls=["exit_entry"],
     result=("中华人民共和国普通护照", "Ordinary passport of the PRC"), post=True,
     form_fields=[field("reason", "换补发原因", "Reason", enum=["有效期即将届满", "签证页即将用完", "损毁", "遗失", "被盗"]),
                  field("old_passport_no", "原护照号码", "Old passport number", maxLength=20)])

item("GA-0003", ("往来港澳通行证及签注签发", "Exit-entry permit for Hong Kong and Macao with endorsement"), "gongan",
     ["travel"], ["港澳通行证", "办港澳通行证", "港澳签注", "去香港", "去澳门", "港澳通行证续签"],
     law="《中国公民因私事往来香港地区或者澳门地区的暂行管理办法》第三条、第四条、第八条",
     cond="内地居民因旅游、探亲、商务、学习等事由前往香港、澳门特别行政区；团队旅游签注由旅行社组团。",
     mats=[ID_CARD, PHOTO, APPLICATION_FORM_EXIT,
           opt(mat("relative_proof", "港澳亲属关系证明", "Proof of relatives in Hong Kong or Macao", ooc="copy",
                   fmt="申请探亲签注时提交", fmt_en="For a family-visit endorsement"))],
     steps=["在“示范政务”小程序预约，或到出入境接待大厅、市民中心自助机办理。",
            "交验身份证，现场采集照片和指纹，选择签注种类（个人旅游、探亲、商务、团队旅游等）。",
            "审核通过后缴纳证件费和签注费，首次办证7个工作日内制证；已有电子通行证再次签注可在自助签注机即时办理。",
            "到窗口领取通行证或选择EMS寄递。"],
     limit=(30, 7), fee=(7500, FEE_HKMO + "；一次有效签注每件15元"), halls=["exit_entry", "citizen_center"],
     result=("往来港澳通行证（电子证件）及签注", "Exit-entry permit for Hong Kong and Macao (electronic) with endorsement"),
     post=True, form_fields=[field("endorsement", "签注种类", "Endorsement type",
                                    enum=["个人旅游", "团队旅游", "探亲", "商务", "逗留"]),
                              field("times", "签注次数", "Number of entries", enum=["一次", "二次"])])

item("GA-0004", ("往来台湾通行证及签注签发", "Mainland travel permit for Taiwan with endorsement"), "gongan", ["travel"],
     ["台湾通行证", "赴台通行证", "去台湾", "大通证"],
     law="《中国公民往来台湾地区管理办法》第五条、第六条、第八条",
     cond="大陆居民因旅游、探亲、访友、商务、学习等事由前往台湾地区。",
     mats=[ID_CARD, PHOTO, APPLICATION_FORM_EXIT],
     steps=["预约后到出入境接待大厅，交验身份证并现场采集照片和指纹。",
            "填写申请表并选择签注种类，窗口审核后出具受理回执。",
            "缴纳证件费，出入境管理机构7个工作日内审批制证。",
            "凭回执领取通行证或EMS寄递。"],
     limit=(30, 7), fee=(6000, "《国家发展改革委 财政部关于降低部分行政事业性收费标准的通知》（发改价格〔2019〕914号）：往来台湾通行证每证60元"),
     halls=["exit_entry"], result=("往来台湾通行证（电子证件）及签注", "Mainland travel permit for Taiwan (electronic)"),
     post=True, form_fields=[field("endorsement", "签注种类", "Endorsement type", enum=["团队旅游", "个人旅游", "探亲", "商务", "学习"])])

item("GA-0005", ("出生登记", "Birth registration (household registration of a newborn)"), "gongan", ["birth", "household"],
     ["上户口", "新生儿落户", "新生儿上户口", "报户口", "宝宝上户口", "新生儿入户"],
     law=("《中华人民共和国户口登记条例》第七条；《中华人民共和国居民身份证法》第二条",
          "Regulations on Household Registration of the PRC, Article 7; Resident Identity Card Law, Article 2"),
     cond=("婴儿出生后一个月以内，由户主、亲属、抚养人或者邻居向婴儿常住地户口登记机关申报出生登记；"
           "随父或随母落户，父母一方为本市常住户口即可申报。",
           "Within one month of birth, the household head, a relative or guardian registers the baby where it will live; "
           "one parent must hold local household registration."),
     mats=[mat("birth_medical_cert", "出生医学证明", "Medical certificate of birth", fmt="助产机构签发的正页",
               fmt_en="The original issued by the hospital"),
           HUKOU, mat("parents_id", "父母双方居民身份证", "Both parents' identity cards"),
           mat("parents_marriage", "父母结婚证", "Parents' marriage certificate", fmt="非婚生育的免交，另提交亲子关系声明",
               fmt_en="Not needed for children born outside marriage; sign a parentage statement instead"),
           opt(mat("parentage_statement", "非婚生育子女落户申报承诺书", "Declaration for a child born outside marriage",
                   medium="paper", template=True))],
     steps=[("已在医院开通“出生一件事”的，可在“示范政务”小程序一次提交出生医学证明、落户和医保参保申请。",
             "Where the hospital supports the 'birth bundle', apply online once for the certificate, registration and insurance."),
            ("到父母户口所在地派出所户籍室，交验出生医学证明、户口簿、父母身份证和结婚证。",
             "Or go to the police station of the parents' household and show the papers."),
            ("户籍民警审核后为婴儿登记户口、编制公民身份号码并在户口簿上打印婴儿户口页。",
             "The officer registers the baby, assigns a citizen ID number and prints the baby's page."),
            ("当场领取已加页的居民户口簿。", "Collect the updated household register booklet on the spot.")],
     limit=(5, 0), fee=None, halls=["police_donghu", "police_nanjiang"],
     result=("居民户口簿（婴儿户口页）", "Household register booklet with the baby's page"),
     form_fields=[field("baby_name", "婴儿姓名", "Baby's name", maxLength=30),
                  field("baby_birth_date", "出生日期", "Date of birth", format="date"),
                  field("follow", "随父或随母落户", "Registered with father or mother", enum=["father", "mother"]),
                  field("birth_cert_no", "出生医学证明编号", "Medical birth certificate number", maxLength=20)],
     depth="online_application")

item("GA-0006", ("居住证申领", "Residence permit application"), "gongan", ["household"],
     ["暂住证", "办居住证", "居住证办理", "居住登记", "外地人居住证"],
     law="《居住证暂行条例》第二条、第九条、第十条、第十四条",
     cond="离开常住户口所在地，到本市居住半年以上，且符合有合法稳定就业、合法稳定住所、连续就读条件之一的公民；已办理居住登记满半年。",
     mats=[ID_CARD, PHOTO,
           mat("residence_proof", "合法稳定住所证明", "Proof of a stable residence", ooc="copy",
               fmt="房屋所有权证、经备案的租赁合同或单位、学校出具的住宿证明之一", fmt_en="Title deed, registered lease, or housing letter from employer or school"),
           mat("employment_proof", "合法稳定就业或连续就读证明", "Proof of stable employment or study", ooc="copy",
               fmt="劳动合同、营业执照或学校出具的就读证明之一", fmt_en="Labour contract, business licence or enrolment certificate"),
           mat("residence_form", "居住证申领登记表", "Residence permit application form", medium="paper", template=True)],
     steps=["到居住地派出所户籍室或社区警务室提交申请，交验身份证和住所、就业（就读）证明。",
            "民警核对居住登记信息，现场采集照片并填写居住证申领登记表。",
            "派出所审核通过后报公安机关制证，首次申领免收证件工本费。",
            "制证完成后短信通知，凭受理回执到原受理点领取，或选择EMS寄递。"],
     limit=(15, 7), fee=None, halls=["police_donghu", "police_nanjiang"],
     result=("示范省居住证", "Shifan Province residence permit"), post=True,
     form_fields=[field("address", "本市居住地址", "Address in the city", maxLength=200),
                  field("since", "来本市居住时间", "Living in the city since", format="date"),
                  field("basis", "申领依据", "Basis", enum=["稳定就业", "稳定住所", "连续就读"])])

item("GA-0007", ("居民身份证换领", "Renewal of the resident identity card"), "gongan", ["household"],
     ["换身份证", "身份证到期", "身份证过期", "身份证换证", "二代证换领"],
     law="《中华人民共和国居民身份证法》第五条、第八条、第十一条、第二十条",
     cond="居民身份证有效期满、登记项目变更或有误、证件严重损坏不能辨认的本市户籍居民；可在全国任一县级公安机关申请异地换领。",
     mats=[ID_CARD, HUKOU, opt(PHOTO)],
     steps=["持原身份证和户口簿到户籍所在地派出所或市民中心公安窗口，有效期满前三个月即可申请。",
            "现场采集人像和指纹，核对登记项目后签字确认居民身份证申领登记表。",
            "缴纳证件工本费20元，领取受理回执。",
            "制证完成后短信通知，凭回执领取或EMS寄递；领证时交回原证。"],
     limit=(60, 20), fee=(2000, FEE_ID + "：换领居民身份证每证20元"), halls=["police_donghu", "citizen_center"],
     result=("中华人民共和国居民身份证", "Resident identity card of the PRC"), post=True,
     form_fields=[field("reason", "换领原因", "Reason", enum=["有效期满", "登记项目变更", "证件损坏"])])

item("GA-0008", ("居民身份证补领", "Replacement of a lost resident identity card"), "gongan", ["household"],
     ["补办身份证", "身份证丢了", "身份证遗失", "身份证补办", "补身份证"],
     law="《中华人民共和国居民身份证法》第十一条、第二十条",
     cond="居民身份证丢失的本市户籍居民；可同时申请办理临时居民身份证。",
     mats=[HUKOU, opt(PHOTO)],
     steps=["持户口簿到户籍所在地派出所或市民中心公安窗口申请，原证自动挂失作废。",
            "现场采集人像和指纹，核对并签字确认申领登记表。",
            "缴纳证件工本费40元；急需证件的可同时申领临时居民身份证（工本费10元，当场领取）。",
            "正式证件制作完成后短信通知，凭回执领取或EMS寄递。"],
     limit=(60, 20), fee=(4000, FEE_ID + "：补领居民身份证每证40元"), halls=["police_donghu", "citizen_center"],
     result=("中华人民共和国居民身份证", "Resident identity card of the PRC"), post=True,
     form_fields=[field("lost_date", "丢失日期", "Date lost", format="date"),
                  field("temporary", "是否同时申领临时身份证", "Also apply for a temporary card", kind="boolean")])

item("GA-0009", ("户口迁移（市外迁入）", "Household registration transfer into the city"), "gongan", ["household"],
     ["迁户口", "户口迁入", "投靠落户", "人才落户", "落户示范市", "户口迁移"],
     law="《中华人民共和国户口登记条例》第十条、第十三条；《国务院关于进一步推进户籍制度改革的意见》（国发〔2014〕25号）",
     cond="符合本市落户政策的人员：人才引进（大专以上学历或技能人才）、夫妻投靠、子女投靠父母、父母投靠子女、购房落户等。",
     mats=[ID_CARD, HUKOU,
           mat("settle_proof", "落户条件证明", "Proof of eligibility", ooc="copy",
               fmt="学历证书、结婚证、亲属关系证明或房屋所有权证之一，按落户类别提交", fmt_en="Diploma, marriage or kinship proof, or title deed, by category"),
           mat("accepter_hukou", "迁入地户主户口簿", "Household booklet of the receiving household",
               fmt="投靠落户或挂靠集体户时提交", fmt_en="When joining a relative's or a collective household")],
     steps=["在“示范政务”小程序提交落户申请并上传落户条件证明，系统按落户类别自动预审。",
            "预审通过后到迁入地派出所户籍室交验原件，民警核实。",
            "派出所审核通过后通过全国户籍网上迁移系统向迁出地发出迁移通知，申请人无需回迁出地办理。",
            "迁出地公安机关确认后，迁入地派出所办理落户并签发户口簿（页）。"],
     limit=(20, 10), fee=None, halls=["police_donghu", "police_nanjiang"],
     result=("居民户口簿", "Household register booklet"),
     form_fields=[field("category", "落户类别", "Category", enum=["人才引进", "夫妻投靠", "子女投靠", "父母投靠", "购房落户"]),
                  field("from_address", "原户籍地址", "Current household address", maxLength=200),
                  field("to_address", "迁入地址", "Address moving into", maxLength=200)],
     depth="online_application")

item("GA-0010", ("无犯罪记录证明开具", "Certificate of no criminal record"), "gongan", ["household"],
     ["无犯罪证明", "无犯罪记录证明", "良民证", "开无犯罪证明"],
     law="《公安机关办理犯罪记录查询工作规定》（公通字〔2021〕19号）第三条、第六条、第七条",
     cond="中国公民因就业、出国等需要，可向户籍地或居住地公安派出所申请查询本人有无犯罪记录并出具证明。",
     mats=[ID_CARD, mat("record_request", "犯罪记录查询申请表", "Criminal record query application form", medium="paper",
                        template=True), AGENT_ID, POWER_OF_ATTORNEY],
     steps=["在“示范政务”小程序在线申请并完成人脸识别，或到户籍地、居住地派出所窗口申请。",
            "填写犯罪记录查询申请表，说明查询用途。",
            "公安机关查询后3个工作日内出具《无犯罪记录证明》，网上申请的可下载电子证明。",
            "查询发现犯罪记录的，出具书面告知，不出具证明。"],
     limit=(3, 1), fee=None, halls=["police_donghu", "police_nanjiang"],
     result=("无犯罪记录证明", "Certificate of no criminal record"),
     form_fields=[field("purpose", "查询用途", "Purpose", enum=["就业", "出国（境）", "入学", "其他"])],
     depth="whole_process_online")

item("GA-0011", ("死亡人员户口注销", "Cancellation of the household registration of a deceased person"), "gongan",
     ["funeral", "household"], ["死亡销户", "注销户口", "人去世了销户口", "户口注销"],
     law="《中华人民共和国户口登记条例》第八条",
     cond="公民死亡，城市在葬前、农村在一个月以内，由户主、亲属、抚养人或者邻居向户口登记机关申报死亡登记，注销户口。",
     mats=[mat("death_cert", "居民死亡医学证明（推断）书或火化证明", "Medical certificate of death or cremation certificate"),
           HUKOU, mat("deceased_id", "死者居民身份证", "ID card of the deceased", fmt="无法交回的说明原因",
                      fmt_en="Explain if it cannot be returned"),
           mat("reporter_id", "申报人居民身份证", "Reporting person's ID card")],
     steps=["申报人到死者户籍所在地派出所户籍室，交验死亡证明、户口簿和身份证。",
            "民警核对后注销死者户口，在户口簿上加盖注销章。",
            "收回死者居民身份证，出具户口注销证明，当场办结。"],
     limit=(5, 0), fee=None, halls=["police_donghu", "police_nanjiang"],
     result=("户口注销证明", "Certificate of cancelled household registration"),
     form_fields=[field("deceased_name", "死者姓名", "Name of the deceased", maxLength=30),
                  field("death_date", "死亡日期", "Date of death", format="date")])

# =============================================================================================
# 公安交警 (驾驶证、机动车)
# =============================================================================================
LICENCE_FEE = (1000, FEE_TRAFFIC + "：机动车驾驶证工本费每证10元")

item("JJ-0001", ("机动车驾驶证期满换证", "Renewal of a driving licence on expiry"), "jiaojing", ["vehicle"],
     ["换驾照", "驾照到期", "驾驶证到期换证", "驾照换证", "驾照过期", "驾驶证换证"],
     law=("《中华人民共和国道路交通安全法》第十九条；《机动车驾驶证申领和使用规定》（公安部令第162号）第七十条",
          "Road Traffic Safety Law of the PRC, Article 19; Provisions on Driving Licences (MPS Order 162), Article 70"),
     cond=("机动车驾驶证有效期满前九十日内（有效期满后一年内仍可申请），驾驶证未被扣押、注销，且身体条件符合规定的驾驶人。",
           "Within 90 days before the licence expires (or up to one year after), if it is not seized or cancelled "
           "and the holder meets the health requirements."),
     mats=[ID_CARD, DRIVING_LICENCE, HEALTH_CERT, opt(PHOTO)],
     steps=[("在“交管12123”App或“示范政务”小程序提交换证申请，上传身体条件证明（医院已联网上传的自动获取）。",
             "Apply in the 12123 app or the Shifan mini-program; upload the medical certificate (fetched automatically if the hospital uploaded it)."),
            ("或携带身份证、原驾驶证、身体条件证明到车管所或交警服务站窗口办理。",
             "Or bring the papers to the vehicle office or a traffic police service station."),
            ("窗口审核后当场收回原证、缴纳工本费10元并核发新驾驶证；网上申请的由EMS寄递新证。",
             "The old licence is returned, the 10 yuan fee paid and the new licence issued on the spot; online applications are posted by EMS.")],
     limit=(1, 0), fee=LICENCE_FEE, halls=["vehicle_office", "traffic_service"],
     result=("中华人民共和国机动车驾驶证", "Driving licence of the PRC"), post=True,
     form_fields=[field("licence_no", "驾驶证档案编号", "Licence file number", maxLength=12),
                  field("expiry_date", "有效期截止日期", "Expiry date", format="date")],
     depth="whole_process_online")

item("JJ-0002", ("机动车驾驶证补领", "Replacement of a lost driving licence"), "jiaojing", ["vehicle"],
     ["补驾照", "驾照丢了", "驾照遗失", "驾驶证遗失补办", "驾驶证丢了"],
     law="《中华人民共和国道路交通安全法》第十九条；《机动车驾驶证申领和使用规定》（公安部令第162号）第七十四条",
     cond="机动车驾驶证遗失，且未被扣押、注销的驾驶人。",
     mats=[ID_CARD, opt(PHOTO)],
     steps=["在“交管12123”App提交补证申请，或到车管所、交警服务站窗口申请。",
            "系统核验身份信息并确认驾驶证状态正常，原证自动作废。",
            "缴纳工本费10元，窗口当场核发或EMS寄递。"],
     limit=(1, 0), fee=LICENCE_FEE, halls=["vehicle_office", "traffic_service"],
     result=("中华人民共和国机动车驾驶证", "Driving licence of the PRC"), post=True,
     form_fields=[field("lost_date", "遗失日期", "Date lost", format="date")], depth="whole_process_online")

item("JJ-0003", ("机动车注册登记", "Registration of a new motor vehicle"), "jiaojing", ["vehicle"],
     ["新车上牌", "上牌", "车辆上牌", "新车登记", "办车牌", "上车牌"],
     law="《中华人民共和国道路交通安全法》第八条、第九条；《机动车登记规定》（公安部令第164号）第十条、第十一条",
     cond="新购置的机动车在投入使用前，由所有人向住所地车辆管理所申请注册登记；车辆已缴纳车辆购置税、投保交强险。",
     mats=[ID_CARD, mat("vehicle_invoice", "机动车销售统一发票", "Unified invoice for motor vehicle sale", medium="both"),
           mat("vehicle_certificate", "机动车整车出厂合格证明", "Vehicle factory certificate"),
           mat("compulsory_insurance", "机动车交通事故责任强制保险凭证", "Compulsory traffic accident insurance policy",
               fmt="已电子化核验的免于提交", fmt_en="Not needed when verified electronically"),
           mat("vehicle_reg_form", "机动车注册登记申请表", "Vehicle registration application form", medium="paper", template=True)],
     steps=["在4S店“一站式”服务点或车管所查验区查验车辆，拓印车辆识别代号。",
            "提交申请表及购车发票、合格证、交强险凭证，窗口核对车辆购置税电子信息。",
            "通过互联网或现场选取号牌号码，缴纳号牌、行驶证、登记证书工本费。",
            "当场领取号牌、行驶证和机动车登记证书，并按规定安装号牌。"],
     limit=(2, 1), fee=(12000, FEE_TRAFFIC + "：汽车号牌每副100元，行驶证每证10元，登记证书每证10元"),
     halls=["vehicle_office"], result=("机动车号牌、行驶证、机动车登记证书", "Number plates, vehicle licence and registration certificate"),
     form_fields=[field("vin", "车辆识别代号", "Vehicle identification number", pattern="^[A-HJ-NPR-Z0-9]{17}$"),
                  field("plate_choice", "号牌选取方式", "How to choose the plate number", enum=["互联网选号", "现场选号"])])

item("JJ-0004", ("交通违法处理及罚款缴纳", "Handling traffic violations and paying fines"), "jiaojing", ["vehicle"],
     ["交罚款", "违章处理", "处理违章", "交通罚款", "罚单", "违章罚款", "电子眼违章"],
     law="《中华人民共和国道路交通安全法》第八十七条、第一百零七条、第一百零八条；《中华人民共和国行政处罚法》第六十七条",
     cond="机动车有交通技术监控设备记录的违法行为，或驾驶人收到现场处罚决定书；违法行为可由驾驶人本人处理。",
     mats=[ID_CARD, DRIVING_LICENCE, opt(mat("vehicle_licence", "机动车行驶证", "Vehicle licence"))],
     steps=["在“交管12123”App查询本人名下车辆和驾驶证的违法记录，确认违法事实。",
            "对违法事实无异议的在线接受处理，生成处罚决定书；有异议的到交警服务站窗口申请复核。",
            "按处罚决定书在15日内通过网银、“示范政务”小程序或代收银行缴纳罚款（罚缴分离，交警不收取现金）。",
            "缴款成功后系统自动核销，记分同时计入驾驶证。"],
     limit=(1, 0), fee=None, halls=["traffic_service", "vehicle_office"],
     result=("公安交通管理简易程序处罚决定书", "Traffic penalty decision (simplified procedure)"),
     post="处罚决定书为电子文书，可在“交管12123”App下载，不另行邮寄",
     form_fields=[field("plate_no", "号牌号码", "Plate number", maxLength=10),
                  field("decision_no", "处罚决定书编号", "Decision number", maxLength=30)],
     depth="whole_process_online")

item("JJ-0005", ("机动车检验合格标志核发", "Issuing the vehicle inspection compliance mark"), "jiaojing", ["vehicle"],
     ["车辆年检", "年检", "车辆年审", "年审", "车检", "汽车年检"],
     law="《中华人民共和国道路交通安全法》第十三条；《机动车登记规定》（公安部令第164号）第五十七条",
     cond="登记在本市的机动车在检验有效期满前三个月内申请；6年以内的非营运小型、微型载客汽车（面包车除外）免予上线检验，每两年申领检验标志。",
     mats=[mat("vehicle_licence", "机动车行驶证", "Vehicle licence"),
           mat("compulsory_insurance", "机动车交通事故责任强制保险凭证", "Compulsory insurance policy", fmt="在有效期内"),
           opt(mat("inspection_report", "机动车安全技术检验报告", "Safety inspection report", fmt="需上线检验的车辆提交"))],
     steps=["确认车辆无未处理的交通违法记录和交通事故。",
            "免检车辆在“交管12123”App直接申领电子检验标志；需上线检验的车辆到任一检验机构检验。",
            "检验合格后，检验机构将结果上传车管所，系统自动核发电子检验合格标志。"],
     limit=(1, 0), fee=None, halls=["vehicle_office", "traffic_service"],
     result=("机动车检验合格标志（电子）", "Vehicle inspection compliance mark (electronic)"),
     post="电子检验标志在“交管12123”App中查看，无需邮寄",
     form_fields=[field("plate_no", "号牌号码", "Plate number", maxLength=10)], depth="whole_process_online")

item("JJ-0006", ("机动车转移登记", "Transfer registration of a motor vehicle"), "jiaojing", ["vehicle"],
     ["车辆过户", "二手车过户", "机动车过户", "卖车过户"],
     law="《中华人民共和国道路交通安全法》第十二条；《机动车登记规定》（公安部令第164号）第二十五条、第二十六条",
     cond="已登记的机动车所有权转让，现机动车所有人在交付机动车之日起三十日内申请转移登记；车辆无未处理的违法记录和事故。",
     mats=[mat("buyer_id", "现机动车所有人身份证明", "New owner's identity document"),
           mat("registration_cert", "机动车登记证书", "Vehicle registration certificate"),
           mat("vehicle_licence", "机动车行驶证", "Vehicle licence"),
           mat("transfer_invoice", "二手车销售统一发票", "Unified invoice for used vehicle sale"),
           mat("transfer_form", "机动车转移登记申请表", "Transfer registration application form", medium="paper", template=True)],
     steps=["在二手车交易市场或车管所查验车辆，拓印车辆识别代号。",
            "提交申请表和登记证书、行驶证、二手车发票，窗口审核。",
            "迁出本市的办理转出手续；在本市的当场变更登记证书并核发新行驶证。",
            "需更换号牌的现场选号并领取号牌。"],
     limit=(1, 0), fee=(2000, FEE_TRAFFIC + "：行驶证每证10元，登记证书每证10元"), halls=["vehicle_office"],
     result=("机动车登记证书（转移登记）和行驶证", "Updated registration certificate and vehicle licence"),
     form_fields=[field("plate_no", "号牌号码", "Plate number", maxLength=10),
                  field("vin", "车辆识别代号", "Vehicle identification number", pattern="^[A-HJ-NPR-Z0-9]{17}$")])


# =============================================================================================
# 市场监管 (市场主体登记、食品经营、特种设备)
# =============================================================================================
COMPANY_APPLICATION = mat("company_application", "公司登记（备案）申请书", "Company registration (filing) application",
                          medium="both", template=True, fmt="全体股东（发起人）签字或电子签名",
                          fmt_en="Signed (or e-signed) by every shareholder")
ARTICLES = mat("articles", "公司章程", "Articles of association", template=True, fmt="全体股东签署；可使用章程参考样本",
               fmt_en="Signed by every shareholder; a model text is provided")
ADDRESS_PROOF = mat("address_proof", "住所（经营场所）使用证明", "Proof of the right to use the premises", ooc="copy",
                    fmt="不动产权证书复印件或租赁合同；使用住宅的另附业主同意书", fmt_en="Title deed copy or lease")

item("SC-0001", ("企业设立登记（有限责任公司）", "Incorporation of a limited liability company"), "shichang", ["business"],
     ["营业执照", "办营业执照", "注册公司", "开公司", "公司注册", "工商注册", "开办企业"],
     law=("《中华人民共和国市场主体登记管理条例》第三条、第十九条、第二十一条；《中华人民共和国公司法》第二十九条、第三十三条",
          "Regulations on the Registration of Market Entities, Articles 3, 19 and 21; Company Law of the PRC, Articles 29 and 33"),
     cond=("申请人具有完全民事行为能力；名称符合企业名称登记管理规定；有符合规定的住所；有公司章程；"
           "股东认缴出资，出资方式符合法律规定。",
           "Applicants have full capacity; the name complies with the naming rules; the company has premises and articles "
           "of association; shareholders subscribe capital in lawful forms."),
     mats=[COMPANY_APPLICATION, ARTICLES, mat("shareholder_ids", "股东主体资格证明", "Shareholders' identity documents",
                                              ooc="copy", fmt="自然人股东身份证复印件；法人股东营业执照复印件"),
           LEGAL_REP_ID, ADDRESS_PROOF,
           mat("officers_appointment", "法定代表人、董事、监事和经理的任职文件", "Appointment of the legal representative and officers",
               template=True)],
     steps=[("登录“示范市企业开办一网通办”平台，自主申报企业名称并通过系统查重。",
             "Reserve the company name on the Shifan one-stop business start-up platform."),
            ("在线填写设立登记信息、上传章程等材料，全体股东及法定代表人实名认证并电子签名。",
             "Fill in the registration online, upload the articles, and have every shareholder verify identity and e-sign."),
            ("登记机关审核，材料齐全、符合法定形式的1个工作日内予以登记。",
             "The registry checks and registers complete applications within 1 working day."),
            ("同步领取电子营业执照，可一并免费刻制公章、申领发票、开立银行账户和办理社保登记。",
             "Receive the electronic business licence; seals, invoices, bank account and social insurance are set up in the same flow."),
            ("需要纸质执照的到市民中心市场监管窗口领取或选择免费邮寄。",
             "Collect the paper licence at the window or have it posted free.")],
     limit=(3, 1), fee=None, halls=["market"], audience="enterprise",
     result=("营业执照", "Business licence"), post="纸质营业执照可选择免费邮寄",
     form_fields=[field("company_name_proposed", "拟设企业名称", "Proposed company name", maxLength=100),
                  field("registered_capital_wan", "注册资本（万元）", "Registered capital (10,000 yuan)", kind="number", minimum=0),
                  field("business_scope", "经营范围", "Business scope", maxLength=1000),
                  field("address", "住所", "Registered address", maxLength=200)],
     depth="whole_process_online")

item("SC-0002", ("个体工商户设立登记", "Registration of an individual business"), "shichang", ["business", "employment"],
     ["个体户执照", "办个体户", "开店执照", "个体营业执照", "个体工商户注册"],
     law="《促进个体工商户发展条例》第八条；《中华人民共和国市场主体登记管理条例》第三条、第十九条",
     cond="有经营能力的公民从事工商业经营；有固定经营场所；经营范围不属于法律法规禁止个体经营的项目。",
     mats=[mat("sole_application", "个体工商户登记（备案）申请书", "Individual business registration application",
               template=True), ID_CARD, ADDRESS_PROOF],
     steps=["通过“示范政务”小程序或“个体工商户智能登记”系统在线填报，经营者实名认证。",
            "系统自动核验名称、经营场所和经营范围，符合条件的即时出照。",
            "需人工审核的由登记机关1个工作日内完成。",
            "下载电子营业执照；需要纸质执照的到窗口领取或选择邮寄。"],
     limit=(3, 1), fee=None, halls=["market", "donghu_center"], result=("营业执照（个体工商户）", "Business licence (individual business)"),
     post=True, form_fields=[field("shop_name", "个体工商户名称", "Business name", maxLength=60),
                             field("business_scope", "经营范围", "Business scope", maxLength=500),
                             field("address", "经营场所", "Business premises", maxLength=200)],
     depth="whole_process_online")

item("SC-0003", ("企业变更登记", "Change registration of an enterprise"), "shichang", ["business"],
     ["公司变更", "变更法人", "换法人", "公司改名", "变更经营范围", "变更注册地址"],
     law="《中华人民共和国市场主体登记管理条例》第二十四条、第二十五条",
     cond="企业名称、住所、法定代表人、注册资本、经营范围、股东等登记事项发生变更的，自作出变更决议、决定之日起30日内申请变更登记。",
     mats=[mat("change_application", "公司变更登记（备案）申请书", "Company change application", template=True),
           mat("change_resolution", "股东会决议或股东决定", "Shareholders' resolution or decision", template=True),
           opt(mat("articles_amendment", "章程修正案", "Amendment to the articles of association", template=True)),
           BIZ_LICENSE],
     steps=["在企业开办一网通办平台选择变更事项，在线填写变更内容并上传决议。",
            "股东及法定代表人完成实名认证和电子签名。",
            "登记机关1个工作日内审核，通过后换发营业执照。",
            "电子营业执照同步更新；纸质执照到窗口换领或选择邮寄，交回原执照。"],
     limit=(3, 1), fee=None, halls=["market"], audience="enterprise",
     result=("营业执照（变更后）", "Business licence (after the change)"), post=True,
     form_fields=[field("change_items", "变更事项", "What changes", kind="array",
                        items={"type": "string", "enum": ["名称", "住所", "法定代表人", "注册资本", "经营范围", "股东"]})],
     form_base="company", depth="whole_process_online")

item("SC-0004", ("企业注销登记", "Deregistration of an enterprise"), "shichang", ["business"],
     ["公司注销", "企业注销", "注销公司", "简易注销", "关闭公司"],
     law="《中华人民共和国市场主体登记管理条例》第三十一条、第三十二条、第三十三条；《中华人民共和国公司法》第二百三十九条",
     cond="企业解散并完成清算；未发生债权债务或已将债权债务清偿完结的，可适用简易注销，经20日公示无异议后申请。",
     mats=[mat("dereg_application", "企业注销登记申请书", "Deregistration application", template=True),
           mat("liquidation_report", "清算报告", "Liquidation report", template=True, fmt="简易注销的提交全体投资人承诺书替代"),
           mat("tax_clearance", "清税证明", "Tax clearance certificate", fmt="已实现信息共享的免于提交"), BIZ_LICENSE],
     steps=["在企业开办一网通办平台“企业注销”专区填报，选择一般注销或简易注销。",
            "简易注销的在国家企业信用信息公示系统公示20日；一般注销的成立清算组并公告。",
            "税务、社保等部门并联办理清税和账户注销。",
            "登记机关审核通过后核准注销，企业交回营业执照。"],
     limit=(3, 1), fee=None, halls=["market"], audience="enterprise",
     result=("准予注销登记通知书", "Notice of approval of deregistration"),
     form_fields=[field("mode", "注销方式", "Procedure", enum=["一般注销", "简易注销"])],
     form_base="company", depth="whole_process_online")

item("SC-0005", ("食品经营许可证核发", "Food business licence"), "shichang", ["business"],
     ["餐饮许可证", "食品经营许可证", "开饭店", "开餐馆", "餐饮执照", "食品许可证"],
     law="《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》（国家市场监督管理总局令第78号）第八条、第二十一条",
     cond="已取得营业执照；具有与经营的食品品种、数量相适应的经营场所、设备设施，有专职或兼职的食品安全管理人员和保证食品安全的规章制度。",
     mats=[mat("food_application", "食品经营许可申请书", "Food business licence application", template=True),
           mat("layout_drawing", "经营场所平面布局图和设备布局图", "Floor plan and equipment layout", sample=True,
               fmt="标明操作流程、设备位置和面积，A4纸打印或上传PDF", fmt_en="Show the workflow, equipment and areas"),
           mat("food_rules", "食品安全规章制度目录", "List of food safety rules", template=True),
           BIZ_LICENSE, LEGAL_REP_ID],
     steps=["在“示范政务”小程序或市场监管窗口提交申请和材料。",
            "窗口当场作出受理决定；仅销售预包装食品的实行备案，不需许可。",
            "需要现场核查的，监管人员在5个工作日内到经营场所核查布局、设备和制度。",
            "审查通过后作出准予许可决定，核发食品经营许可证（电子证书同步生成）。"],
     limit=(20, 5), fee=None, halls=["market", "nanjiang_center"], audience="both",
     result=("食品经营许可证", "Food business licence"), post=True,
     form_fields=[field("business_type", "经营主体业态", "Type of business",
                        enum=["食品销售经营者", "餐饮服务经营者", "单位食堂"]),
                  field("area_sqm", "经营场所面积（平方米）", "Area (m²)", kind="number", minimum=0)],
     depth="online_application")

item("SC-0006", ("特种设备使用登记", "Registration of the use of special equipment"), "shichang", ["business"],
     ["电梯登记", "锅炉登记", "特种设备登记", "电梯使用登记", "压力容器登记"],
     law="《中华人民共和国特种设备安全法》第三十三条；《特种设备使用管理规则》（TSG 08-2017）第3.1条",
     cond="锅炉、压力容器、电梯、起重机械、场（厂）内专用机动车辆等特种设备在投入使用前或者投入使用后30日内，由使用单位申请使用登记。",
     mats=[mat("equipment_form", "特种设备使用登记表", "Special equipment registration form", template=True),
           mat("product_certificate", "特种设备产品合格证", "Product certificate"),
           mat("supervision_certificate", "监督检验证明", "Supervisory inspection certificate"), BIZ_LICENSE],
     steps=["使用单位在特种设备使用登记系统在线填报设备信息并上传材料。",
            "登记机关审查材料，5个工作日内作出决定。",
            "准予登记的核发使用登记证，设备代码同步上传全国特种设备信息平台。",
            "使用单位将使用登记证置于设备显著位置或打印电子标志张贴。"],
     limit=(15, 5), fee=None, halls=["market"], audience="enterprise",
     result=("特种设备使用登记证", "Special equipment registration certificate"),
     form_fields=[field("equipment_type", "设备种类", "Equipment type", enum=["电梯", "锅炉", "压力容器", "起重机械", "场（厂）内机动车辆"]),
                  field("equipment_code", "产品编号", "Product number", maxLength=40)],
     form_base="company", depth="whole_process_online")

item("SC-0007", ("药品零售企业经营许可", "Licence for a retail pharmacy"), "shichang", ["business"],
     ["开药店", "药店许可证", "药品经营许可证", "零售药店"],
     law="《中华人民共和国药品管理法》第五十一条、第五十二条；《药品经营和使用质量监督管理办法》（国家市场监督管理总局令第84号）第十条",
     cond="有依法经过资格认定的药师或者其他药学技术人员；有与所经营药品相适应的营业场所、设备、仓储设施和卫生环境；有质量管理机构或人员和质量管理制度。",
     mats=[mat("drug_application", "药品经营许可证申请表", "Drug retail licence application form", template=True),
           mat("pharmacist_cert", "执业药师注册证", "Licensed pharmacist registration certificate", ooc="copy"),
           mat("premises_plan", "营业场所和仓库平面布置图", "Plans of the shop and storeroom", sample=True),
           mat("quality_rules", "药品质量管理制度文件", "Drug quality management rules"), BIZ_LICENSE],
     steps=["在“示范政务”小程序提交申请，上传药师证书和场所平面图。",
            "窗口审查材料，5个工作日内组织现场检查。",
            "现场检查符合《药品经营质量管理规范》的，作出准予许可决定。",
            "核发药品经营许可证，可领取纸质证书或下载电子证书。"],
     limit=(20, 15), fee=None, halls=["market"], audience="enterprise",
     result=("药品经营许可证", "Drug business licence"), post=True,
     form_fields=[field("pharmacy_name", "药店名称", "Pharmacy name", maxLength=60),
                  field("pharmacist_name", "执业药师姓名", "Licensed pharmacist", maxLength=30)],
     form_base="company", depth="online_application")

# =============================================================================================
# 人力社保
# =============================================================================================
item("RS-0001", ("社会保障卡申领", "Social security card application"), "renshe", ["social_security"],
     ["社保卡", "办社保卡", "社保卡办理", "第三代社保卡", "市民卡"],
     law=("《中华人民共和国社会保险法》第五十八条；《社会保障卡管理办法》（人社部发〔2011〕47号）第十条",
          "Social Insurance Law of the PRC, Article 58; Measures on Social Security Cards (HRSS [2011] No. 47), Article 10"),
     cond=("在本市参加社会保险或居住的人员，未持有有效的全国统一社会保障卡；16周岁以下由监护人代为申领。",
           "People insured or living in the city who do not hold a valid national social security card; guardians apply for children under 16."),
     mats=[ID_CARD, PHOTO, opt(AGENT_ID)],
     steps=[("在“示范政务”小程序或“电子社保卡”中申领，上传符合要求的照片，选择合作银行。",
             "Apply in the mini-program or the electronic social security card app; upload a photo and pick a bank."),
            ("或到社会保险服务中心、合作银行网点申请，现场拍照并选择即时制卡。",
             "Or apply at the social insurance center or a partner bank; the card can be made on the spot."),
            ("网上申请的10个工作日内完成制卡，卡片寄到指定地址或到选定网点领取。",
             "Online applications are made within 10 working days and posted or collected at the branch."),
            ("领卡后在网点或线上完成社保卡激活和金融账户启用。", "Activate the card and its bank account.")],
     limit=(20, 10), fee=None, halls=["social_security", "citizen_center"],
     result=("中华人民共和国社会保障卡", "Social security card of the PRC"), post=True,
     form_fields=[field("bank", "合作银行", "Bank", enum=["工商银行", "农业银行", "中国银行", "建设银行", "示范农商银行"])],
     depth="whole_process_online")

item("RS-0002", ("社会保障卡挂失与补换", "Reporting loss and replacing a social security card"), "renshe", ["social_security"],
     ["补办社保卡", "社保卡丢了", "社保卡挂失", "换社保卡", "社保卡补办"],
     law="《社会保障卡管理办法》（人社部发〔2011〕47号）第十四条、第十五条",
     cond="社会保障卡遗失、损坏或有效期届满的持卡人。",
     mats=[ID_CARD, opt(PHOTO)],
     steps=["拨打12333或在“电子社保卡”中办理正式挂失（口头挂失有效期5日）。",
            "在线或到服务网点申请补换卡，损坏换卡的交回原卡。",
            "即时制卡网点当场领取新卡，线上申请的7个工作日内寄送。",
            "新卡激活后原卡功能自动停用，医保和银行账户信息自动迁移。"],
     limit=(20, 7), fee=None, halls=["social_security", "citizen_center"],
     result=("中华人民共和国社会保障卡", "Social security card of the PRC"), post=True,
     form_fields=[field("reason", "补换原因", "Reason", enum=["遗失", "损坏", "有效期届满"])], depth="whole_process_online")

item("RS-0003", ("失业保险金申领", "Claiming unemployment insurance benefits"), "renshe", ["employment", "social_security"],
     ["失业金", "领失业金", "失业保险金", "失业补助金", "失业救济"],
     law="《中华人民共和国社会保险法》第四十五条、第五十条；《失业保险条例》第十四条、第十六条",
     cond="失业前用人单位和本人已经缴纳失业保险费满一年；非因本人意愿中断就业；已经进行失业登记，并有求职要求。",
     mats=[ID_CARD, BANK_CARD,
           mat("termination_proof", "解除或终止劳动关系证明", "Proof of termination of employment", ooc="copy",
               fmt="已通过系统共享的免于提交", fmt_en="Not needed when shared electronically")],
     steps=["通过“示范政务”小程序或社会保险服务中心提交申领，系统自动完成失业登记。",
            "经办机构核验参保缴费记录和劳动关系终止原因。",
            "3个工作日内作出核定，按月将失业保险金发放到本人社会保障卡；领取期间代缴基本医疗保险费。",
            "领取期间每月通过小程序报告求职情况；重新就业的停止发放。"],
     limit=(10, 3), fee=None, halls=["social_security", "employment"],
     result=("失业保险待遇核定通知", "Notice of unemployment benefit"),
     post="核定结果通过短信和小程序推送，不邮寄",
     form_fields=[field("last_employer", "最后就业单位", "Last employer", maxLength=100),
                  field("termination_date", "劳动关系终止日期", "Date employment ended", format="date")],
     depth="whole_process_online")

item("RS-0004", ("养老金领取资格认证", "Annual eligibility verification for pension recipients"), "renshe",
     ["pension", "social_security"], ["养老金认证", "生存认证", "领养老金认证", "退休人员认证", "刷脸认证"],
     law="《中华人民共和国社会保险法》第十六条；《人力资源社会保障部关于印发〈社会保险待遇资格认证经办规程（试行）〉的通知》（人社部发〔2018〕107号）",
     cond="在本市领取基本养老保险待遇的人员，每12个月完成一次待遇领取资格认证；大数据比对已确认的无需本人操作。",
     mats=[ID_CARD],
     steps=["在“示范政务”小程序或“掌上12333”选择“养老金资格认证”，完成人脸识别。",
            "行动不便的可由社区（村）工作人员上门认证。",
            "认证结果实时生效，有效期12个月，到期前一个月短信提醒。"],
     limit=(1, 0), fee=None, halls=["social_security"],
     result=("待遇领取资格认证结果", "Verification result"), result_sample=False,
     post="认证结果线上即时显示，无纸质结果",
     form_fields=[field("relation", "认证人与领取人关系", "Relation to the pensioner", enum=["本人", "子女", "配偶", "社区代办"])],
     depth="whole_process_online")

item("RS-0005", ("职工基本养老保险退休待遇申领", "Applying for the basic pension on retirement"), "renshe",
     ["pension", "social_security"], ["办退休", "退休手续", "退休申请", "领养老金", "养老金申领"],
     law="《中华人民共和国社会保险法》第十六条；《国务院关于建立统一的企业职工基本养老保险制度的决定》（国发〔1997〕26号）",
     cond="达到法定退休年龄，且累计缴纳基本养老保险费满15年的参保人员。",
     mats=[ID_CARD, BANK_CARD, opt(mat("personnel_file", "本人档案", "Personnel file", fmt="视同缴费年限需核定的提交"))],
     steps=["到达退休年龄前三个月，单位或本人在“示范政务”小程序提交退休申请。",
            "经办机构核定缴费年限、视同缴费年限和个人账户储存额。",
            "核定后计发基本养老金，次月起按月发放到本人社会保障卡。",
            "待遇核定表可在线查看和打印。"],
     limit=(20, 10), fee=None, halls=["social_security"],
     result=("基本养老金核定表", "Basic pension calculation sheet"),
     post="核定表在线下载打印，不邮寄",
     form_fields=[field("retire_date", "退休日期", "Retirement date", format="date"),
                  field("employer", "参保单位", "Employer", maxLength=100)],
     depth="online_application")

item("RS-0006", ("城乡居民基本养老保险参保登记", "Enrolment in the urban and rural residents' basic pension"), "renshe",
     ["pension", "social_security"], ["居民养老保险", "城乡居民养老保险", "农村养老保险", "参加养老保险"],
     law="《中华人民共和国社会保险法》第二十条、第二十二条；《国务院关于建立统一的城乡居民基本养老保险制度的意见》（国发〔2014〕8号）",
     cond="年满16周岁（不含在校学生）、非国家机关和事业单位工作人员及不属于职工基本养老保险覆盖范围的本市户籍居民。",
     mats=[ID_CARD, HUKOU, BANK_CARD],
     steps=["在“示范政务”小程序或户籍所在地乡镇（街道）社保服务窗口提交参保登记。",
            "选择年缴费档次（200元至5000元共十二档），签订银行代扣协议。",
            "经办机构审核后当场完成登记，按年度从银行账户扣缴保费。"],
     limit=(5, 0), fee=None, halls=["social_security", "qingxi_center"],
     result=("城乡居民基本养老保险参保登记信息", "Enrolment record"), result_sample=False,
     form_fields=[field("grade", "缴费档次（元/年）", "Contribution grade (yuan per year)", kind="integer",
                        enum=[200, 300, 500, 800, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000])],
     depth="whole_process_online")

item("RS-0007", ("就业创业证申领", "Employment and entrepreneurship certificate"), "renshe", ["employment"],
     ["失业证", "就业失业登记证", "失业登记", "就业登记", "就业创业证"],
     law="《中华人民共和国就业促进法》第五十二条；《就业服务与就业管理规定》（劳动和社会保障部令第28号）第六十一条、第六十三条",
     cond="在法定劳动年龄内、有劳动能力和就业要求、处于无业状态的城乡劳动者可办理失业登记；已就业的可办理就业登记。",
     mats=[ID_CARD],
     steps=["在“示范政务”小程序或就业服务中心办理失业登记或就业登记。",
            "工作人员核验身份和就业状态，当场登记。",
            "系统生成电子《就业创业证》，享受就业创业扶持政策时无需另开证明。"],
     limit=(5, 0), fee=None, halls=["employment"],
     result=("就业创业证（电子证照）", "Employment and entrepreneurship certificate (electronic)"),
     post="电子证照，无需邮寄",
     form_fields=[field("status", "登记类型", "Registration type", enum=["失业登记", "就业登记"])],
     depth="whole_process_online")

item("RS-0008", ("个人社会保险参保缴费证明打印", "Printing a social insurance contribution record"), "renshe",
     ["social_security"], ["社保证明", "社保缴费证明", "参保证明", "社保缴费记录", "打印社保记录"],
     law="《中华人民共和国社会保险法》第四条、第七十四条",
     cond="在本市参加社会保险的人员，可查询和打印本人参保缴费证明，用于购房、落户、子女入学等。",
     mats=[ID_CARD],
     steps=["在“示范政务”小程序选择参保证明类型和起止年月，完成人脸识别。",
            "系统即时生成带电子印章和验证码的参保缴费证明（PDF）。",
            "使用单位可通过验证码在线核验真伪；也可在市民中心自助机打印。"],
     limit=(1, 0), fee=None, halls=["social_security", "citizen_center"],
     result=("社会保险参保缴费证明", "Social insurance contribution certificate"),
     post="电子证明在线下载，不邮寄",
     form_fields=[field("from_month", "起始年月", "From (month)", pattern="^\\d{4}-\\d{2}$"),
                  field("to_month", "截止年月", "To (month)", pattern="^\\d{4}-\\d{2}$")],
     depth="whole_process_online")

item("RS-0009", ("工伤认定申请", "Application for work-related injury determination"), "renshe",
     ["employment", "social_security"], ["工伤认定", "申请工伤", "上班受伤", "工伤鉴定申请"],
     law="《工伤保险条例》第十四条、第十七条、第二十条",
     cond="职工发生事故伤害或者被诊断、鉴定为职业病，用人单位应当自事故伤害发生之日起30日内提出工伤认定申请；用人单位未申请的，职工或其近亲属可在1年内申请。",
     mats=[mat("injury_form", "工伤认定申请表", "Work injury determination application form", template=True),
           mat("labour_relation", "劳动关系证明", "Proof of the employment relationship", ooc="copy",
               fmt="劳动合同、工资发放记录等", fmt_en="Labour contract, payslips, etc."),
           mat("medical_diagnosis", "医疗诊断证明或职业病诊断证明书", "Medical diagnosis or occupational disease diagnosis"),
           ID_CARD],
     steps=["用人单位或职工在“示范政务”小程序提交工伤认定申请表和材料。",
            "社会保险行政部门审核材料，材料不完整的一次性书面告知补正。",
            "受理后根据需要调查核实事故情况。",
            "自受理之日起60日内作出认定决定，事实清楚、权利义务明确的15日内作出。",
            "工伤认定决定书送达用人单位和职工。"],
     limit=(60, 30), fee=None, halls=["social_security"], audience="both",
     result=("认定工伤决定书或不予认定工伤决定书", "Decision on work-related injury"), post=True,
     form_fields=[field("injured_name", "受伤职工姓名", "Injured employee", maxLength=30),
                  field("accident_date", "事故发生日期", "Date of the accident", format="date"),
                  field("employer", "用人单位", "Employer", maxLength=100)],
     depth="online_application")

item("RS-0010", ("企业职工基本养老保险关系转移接续", "Transfer of basic pension insurance between regions"), "renshe",
     ["social_security"], ["社保转移", "社保关系转移", "养老保险转移", "社保转入", "社保转出"],
     law="《中华人民共和国社会保险法》第十九条；《城镇企业职工基本养老保险关系转移接续暂行办法》（国办发〔2009〕66号）第五条、第八条",
     cond="跨省、市流动就业的参保人员，在新就业地参保后申请将养老保险关系转入。",
     mats=[ID_CARD, opt(mat("transfer_certificate", "基本养老保险参保缴费凭证", "Contribution voucher from the previous region"))],
     steps=["在新参保地通过“国家社会保险公共服务平台”或“示范政务”小程序提交转入申请。",
            "转入地经办机构15个工作日内向转出地发出联系函。",
            "转出地办理转出并转移基金，转入地15个工作日内完成接续。",
            "办结后可在线查询转移进度和合并后的缴费年限。"],
     limit=(45, 30), fee=None, halls=["social_security"],
     result=("养老保险关系转移接续完成通知", "Notice of completed transfer"), result_sample=False,
     post="结果通过短信通知，不邮寄",
     form_fields=[field("from_region", "转出地", "Transferring from", maxLength=60)], depth="whole_process_online")

item("RS-0011", ("丧葬补助金和抚恤金申领", "Funeral grant and survivors' pension"), "renshe", ["funeral", "social_security"],
     ["丧葬费", "丧葬补助金", "抚恤金", "遗属待遇", "死亡待遇"],
     law="《中华人民共和国社会保险法》第十七条",
     cond="参加基本养老保险的个人因病或者非因工死亡的，其遗属可以领取丧葬补助金和抚恤金。",
     mats=[mat("death_proof", "死亡证明或户口注销证明", "Death certificate or proof of cancelled registration"),
           mat("kinship_proof", "申领人与死者的亲属关系证明", "Proof of kinship", ooc="copy"),
           mat("claimant_id", "申领人居民身份证", "Claimant's ID card"), BANK_CARD],
     steps=["死者近亲属在“示范政务”小程序“身后一件事”或社会保险服务中心提出申请。",
            "经办机构核查死亡信息和亲属关系，停发死者养老金并结算个人账户余额。",
            "10个工作日内核定丧葬补助金、抚恤金和个人账户余额，一次性发放到申领人账户。"],
     limit=(20, 10), fee=None, halls=["social_security"],
     result=("丧葬补助金、抚恤金核定通知", "Notice of funeral grant and survivors' pension"),
     form_fields=[field("deceased_name", "死者姓名", "Name of the deceased", maxLength=30),
                  field("deceased_id_number", "死者公民身份号码", "ID number of the deceased", pattern="^[0-9]{17}[0-9Xx]$")],
     depth="online_application")

# =============================================================================================
# 医疗保障
# =============================================================================================
item("YB-0001", ("城乡居民基本医疗保险参保登记", "Enrolment in residents' basic medical insurance"), "yibao",
     ["social_security", "medical"], ["办医保", "居民医保", "医保参保", "参加医保", "新生儿医保", "买医保"],
     law="《中华人民共和国社会保险法》第二十三条、第二十五条；《国务院关于整合城乡居民基本医疗保险制度的意见》（国发〔2016〕3号）",
     cond="未参加职工基本医疗保险的本市户籍居民、持本市居住证的非本市户籍居民及其未成年子女、在本市就读的学生。",
     mats=[ID_CARD, opt(mat("residence_permit", "居住证", "Residence permit", fmt="非本市户籍人员提交"))],
     steps=["每年9月至12月集中参保期内，在“示范政务”小程序或医保服务中心提交参保登记。",
            "选择缴费档次并缴纳个人缴费，政府按规定给予补助。",
            "新生儿在出生90日内参保缴费的，自出生之日起享受待遇。",
            "缴费后次年1月1日起享受医保待遇。"],
     limit=(5, 0), fee=None, halls=["medical_insurance", "citizen_center"],
     result=("城乡居民基本医疗保险参保信息", "Enrolment record"), result_sample=False,
     form_fields=[field("insured_name", "参保人姓名", "Insured person", maxLength=30),
                  field("category", "参保人员类别", "Category", enum=["成年居民", "老年居民", "未成年人", "在校学生", "新生儿"])],
     depth="whole_process_online")

item("YB-0002", ("异地就医备案", "Registration for medical treatment outside the insured region"), "yibao",
     ["medical", "social_security"], ["异地就医", "外地看病", "异地医保备案", "转外就医", "异地报销备案"],
     law="《国家医保局 财政部关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知》（医保发〔2022〕22号）",
     cond="参加本市基本医疗保险的异地长期居住人员、常驻异地工作人员、异地转诊就医人员和异地急诊抢救人员。",
     mats=[ID_CARD, opt(mat("referral", "转诊证明", "Referral letter", fmt="异地转诊人员提交"))],
     steps=["在“国家医保服务平台”App、“示范政务”小程序或医保服务中心提交备案。",
            "选择备案类型、就医地和备案开始日期，长期居住人员作出个人承诺。",
            "系统即时办结，备案后在就医地定点医疗机构直接结算。"],
     limit=(1, 0), fee=None, halls=["medical_insurance"],
     result=("异地就医备案信息", "Out-of-region medical treatment registration"), result_sample=False,
     post="线上即时生效，无需邮寄",
     form_fields=[field("type", "备案类型", "Type", enum=["异地长期居住", "常驻异地工作", "异地转诊", "临时外出就医"]),
                  field("place", "就医地", "Where you will be treated", maxLength=60),
                  field("start_date", "备案开始日期", "Start date", format="date")],
     depth="whole_process_online")

item("YB-0003", ("门诊慢特病待遇认定", "Recognition of chronic and special outpatient conditions"), "yibao", ["medical"],
     ["慢性病认定", "慢病卡", "门诊慢特病", "特殊病认定", "门特"],
     law="《国务院办公厅关于建立健全职工基本医疗保险门诊共济保障机制的指导意见》（国办发〔2021〕14号）；《医疗保障基金使用监督管理条例》第十五条",
     cond="参加本市基本医疗保险、患有高血压、糖尿病、恶性肿瘤门诊治疗等列入本市门诊慢特病目录病种的参保人员。",
     mats=[ID_CARD, mat("diagnosis", "二级及以上定点医疗机构出具的诊断证明和病历资料", "Diagnosis and medical records from a grade II+ hospital",
                        ooc="copy", fmt="含近一年相关检查报告", fmt_en="Including test reports of the past year")],
     steps=["在定点医疗机构由医生线上提交认定申请，或本人在小程序上传诊断资料。",
            "医保经办机构组织专家审核，符合病种标准的予以认定。",
            "认定结果次日生效，在选定的定点医疗机构按慢特病待遇结算。"],
     limit=(15, 5), fee=None, halls=["medical_insurance"],
     result=("门诊慢特病待遇认定结果", "Recognition result"), result_sample=False,
     post="结果短信通知，不邮寄",
     form_fields=[field("disease", "申请病种", "Condition", maxLength=60),
                  field("hospital", "定点医疗机构", "Designated hospital", maxLength=100)],
     depth="whole_process_online")

item("YB-0004", ("生育津贴申领", "Claiming the maternity allowance"), "yibao", ["birth", "social_security"],
     ["生育津贴", "生育保险待遇", "产假工资", "领生育津贴", "生育险报销"],
     law="《中华人民共和国社会保险法》第五十四条、第五十六条；《女职工劳动保护特别规定》第七条、第八条",
     cond="用人单位已为职工缴纳生育保险费，职工生育或施行计划生育手术，依法享受产假。",
     mats=[ID_CARD, mat("birth_medical_cert", "出生医学证明", "Medical certificate of birth", ooc="copy",
                        fmt="已通过“出生一件事”共享的免于提交"), BANK_CARD],
     steps=["用人单位或职工本人在“示范政务”小程序提交申领，出生信息自动获取。",
            "医保经办机构核定产假天数和单位上年度职工月平均工资。",
            "10个工作日内将生育津贴发放到单位账户或职工本人账户。"],
     limit=(20, 10), fee=None, halls=["medical_insurance"], audience="both",
     result=("生育津贴核定结果", "Maternity allowance assessment"), result_sample=False,
     post="结果短信通知，不邮寄",
     form_fields=[field("birth_date", "分娩日期", "Date of delivery", format="date"),
                  field("employer", "参保单位", "Employer", maxLength=100)],
     depth="whole_process_online")

item("YB-0005", ("医疗费用手工报销", "Manual reimbursement of medical expenses"), "yibao", ["medical", "social_security"],
     ["医保报销", "看病报销", "零星报销", "医药费报销", "手工报销"],
     law="《中华人民共和国社会保险法》第二十八条、第二十九条；《医疗保障基金使用监督管理条例》第十九条",
     cond="参保人员因急诊抢救、未备案异地就医或医院系统故障等原因未能直接结算，在就医后一年内申请报销。",
     mats=[ID_CARD, mat("invoices", "医疗收费票据", "Medical invoices", fmt="电子票据可直接上传"),
           mat("expense_list", "费用明细清单", "Itemised bill"),
           mat("discharge_summary", "出院小结或门诊病历", "Discharge summary or outpatient record", ooc="copy"), BANK_CARD],
     steps=["在“示范政务”小程序上传票据、明细和病历，或到医保服务中心窗口提交。",
            "经办机构审核费用合规性，按医保目录和报销比例计算。",
            "20个工作日内将报销款发放到本人账户。"],
     limit=(30, 20), fee=None, halls=["medical_insurance"],
     result=("医疗费用报销结算单", "Reimbursement statement"), post="结算单在线查看，不邮寄",
     form_fields=[field("hospital", "就诊医疗机构", "Hospital", maxLength=100),
                  field("amount_yuan", "票据总金额（元）", "Total invoiced (yuan)", kind="number", minimum=0)],
     depth="online_application")

item("YB-0006", ("基本医疗保险关系转移接续", "Transfer of basic medical insurance between regions"), "yibao",
     ["social_security", "medical"], ["医保转移", "医保关系转移", "医保转入", "医保转出"],
     law="《流动就业人员基本医疗保障关系转移接续暂行办法》（人社部发〔2009〕191号）第四条、第五条",
     cond="跨统筹地区流动就业并在新就业地参加职工基本医疗保险的人员。",
     mats=[ID_CARD],
     steps=["在“国家医保服务平台”App或“示范政务”小程序提交转移接续申请。",
            "转入地经办机构向转出地发送联系函，转出地确认后转移个人账户余额和缴费年限。",
            "转入地完成接续，合并计算缴费年限。"],
     limit=(45, 15), fee=None, halls=["medical_insurance"],
     result=("基本医疗保险关系转移接续完成通知", "Notice of completed transfer"), result_sample=False,
     post="结果短信通知，不邮寄",
     form_fields=[field("from_region", "转出地", "Transferring from", maxLength=60)], depth="whole_process_online")


# =============================================================================================
# 住房公积金
# =============================================================================================
GJJ_LAW = "《住房公积金管理条例》第二十四条、第二十五条"
FUND_ACCOUNT = mat("fund_bank_card", "本人名下银行借记卡", "Debit card in the applicant's name", fmt="用于接收提取资金",
                   fmt_en="The money is paid into this account")

item("GJJ-0001", ("住房公积金提取（购买自住住房）", "Housing provident fund withdrawal for buying a home"), "gjj", ["housing"],
     ["公积金提取", "取公积金", "提公积金", "买房提取公积金", "公积金购房提取"],
     law=GJJ_LAW + "；《住房城乡建设部 财政部 人民银行关于住房公积金提取业务有关问题的通知》",
     cond="职工及配偶在本市或户籍地购买自住住房，自购房合同备案或不动产权登记之日起两年内申请；每套住房提取总额不超过购房款。",
     mats=[ID_CARD, FUND_ACCOUNT,
           mat("purchase_contract", "商品房买卖合同或存量房买卖合同", "Home purchase contract", ooc="copy",
               fmt="已网签备案的可免于提交", fmt_en="Not needed when registered online"),
           mat("payment_invoice", "购房发票或契税完税凭证", "Purchase invoice or deed tax receipt", ooc="copy"),
           opt(MARRIAGE_CERT)],
     steps=["在“示范政务”小程序或公积金App选择“购房提取”，系统自动比对网签备案和不动产登记信息。",
            "信息比对一致的即时审核通过；需人工审核的上传购房发票等材料。",
            "住房公积金管理中心1个工作日内作出准予提取决定。",
            "提取资金划入本人银行账户，短信通知到账。"],
     limit=(3, 1), fee=None, halls=["housing_fund"],
     result=("住房公积金提取审批结果", "Withdrawal decision"), result_sample=False,
     post="资金直接到账，无需邮寄",
     form_fields=[field("house_address", "购房地址", "Address of the home", maxLength=200),
                  field("amount_yuan", "申请提取金额（元）", "Amount (yuan)", kind="number", minimum=0)],
     depth="whole_process_online")

item("GJJ-0002", ("住房公积金提取（租赁住房）", "Housing provident fund withdrawal for rent"), "gjj", ["housing"],
     ["租房提取公积金", "公积金付房租", "租房提取", "公积金租房"],
     law=GJJ_LAW + "；《住房城乡建设部 财政部 人民银行关于放宽提取住房公积金支付房租条件的通知》（建金〔2015〕19号）",
     cond="职工连续足额缴存住房公积金满3个月，本人及配偶在本市无自有住房且租赁住房的，可按月或按季提取用于支付房租。",
     mats=[ID_CARD, FUND_ACCOUNT,
           opt(mat("lease_contract", "房屋租赁合同", "Tenancy agreement", ooc="copy", fmt="按实际租金提取时提交，须已备案"))],
     steps=["在“示范政务”小程序选择“租房提取”，系统核验本人及配偶在本市无房。",
            "选择按本市租房提取限额提取或按备案合同实际租金提取。",
            "审核通过后资金当日划入本人账户，可设置按季度自动提取。"],
     limit=(3, 1), fee=None, halls=["housing_fund"],
     result=("住房公积金提取审批结果", "Withdrawal decision"), result_sample=False,
     post="资金直接到账，无需邮寄",
     form_fields=[field("mode", "提取方式", "Mode", enum=["按限额提取", "按合同租金提取"])], depth="whole_process_online")

item("GJJ-0003", ("住房公积金提取（退休、离职出境）", "Housing provident fund withdrawal on retirement or emigration"), "gjj",
     ["housing", "pension"], ["退休提取公积金", "退休取公积金", "销户提取", "公积金销户"],
     law="《住房公积金管理条例》第二十四条第一款第二项、第三项，第二十五条",
     cond="职工离休、退休，或完全丧失劳动能力并与单位终止劳动关系，或出境定居的，可提取全部余额并注销账户。",
     mats=[ID_CARD, FUND_ACCOUNT,
           opt(mat("retire_proof", "退休证明", "Proof of retirement", ooc="copy", fmt="养老保险待遇信息已共享的免于提交"))],
     steps=["在“示范政务”小程序选择“退休提取”，系统核验养老保险待遇领取信息。",
            "核验通过后提取账户全部余额并销户。",
            "资金1个工作日内划入本人账户。"],
     limit=(3, 1), fee=None, halls=["housing_fund"],
     result=("住房公积金提取审批结果", "Withdrawal decision"), result_sample=False, post="资金直接到账，无需邮寄",
     form_fields=[field("reason", "提取原因", "Reason", enum=["退休", "完全丧失劳动能力", "出境定居"])],
     depth="whole_process_online")

item("GJJ-0004", ("住房公积金个人住房贷款", "Housing provident fund home loan"), "gjj", ["housing"],
     ["公积金贷款", "公积金买房贷款", "住房公积金贷款", "申请公积金贷款"],
     law="《住房公积金管理条例》第二十六条、第二十七条",
     cond="连续足额缴存住房公积金满6个月，购买、建造、翻建、大修自住住房，具有稳定收入和还款能力，无未还清的公积金贷款。",
     mats=[ID_CARD, opt(MARRIAGE_CERT),
           mat("purchase_contract", "购房合同", "Home purchase contract", ooc="copy"),
           mat("down_payment", "首付款证明", "Proof of down payment", ooc="copy"),
           mat("loan_application", "住房公积金贷款申请表", "Provident fund loan application form", template=True)],
     steps=["在“示范政务”小程序进行贷款额度试算并在线预约，或到受托银行网点提交申请。",
            "受托银行初审借款人资信和还款能力，公积金中心审批贷款额度和期限。",
            "自受理之日起15日内作出准予贷款或不准贷款的决定。",
            "签订借款合同、办理抵押登记后放款到售房人账户。"],
     limit=(15, 10), fee=None, halls=["housing_fund"],
     result=("住房公积金个人住房借款合同", "Provident fund home loan contract"),
     form_fields=[field("loan_amount_wan", "申请贷款金额（万元）", "Loan amount (10,000 yuan)", kind="number", minimum=1),
                  field("term_years", "贷款期限（年）", "Term (years)", kind="integer", minimum=1, maximum=30)],
     depth="online_application")

item("GJJ-0005", ("单位住房公积金缴存登记", "Employer registration for housing provident fund contributions"), "gjj",
     ["housing", "business"], ["公积金开户", "单位公积金开户", "公积金缴存登记", "企业公积金开户"],
     law="《住房公积金管理条例》第十四条、第十五条",
     cond="新设立的单位应当自设立之日起30日内到住房公积金管理中心办理住房公积金缴存登记，并为本单位职工办理账户设立。",
     mats=[BIZ_LICENSE, LEGAL_REP_ID,
           mat("deposit_registration", "单位住房公积金缴存登记表", "Employer contribution registration form", template=True)],
     steps=["在企业开办一网通办平台或公积金网上业务大厅提交缴存登记。",
            "公积金中心审核单位信息，当场办结并确定缴存比例（5%-12%）。",
            "单位为职工批量设立个人账户，按月汇缴。"],
     limit=(5, 0), fee=None, halls=["housing_fund"], audience="enterprise",
     result=("住房公积金单位登记号", "Employer registration number"), result_sample=False,
     form_fields=[field("rate", "缴存比例（%）", "Contribution rate (%)", kind="integer", minimum=5, maximum=12)],
     form_base="company", depth="whole_process_online")

# =============================================================================================
# 不动产登记
# =============================================================================================
RE_APPLICATION = mat("re_application", "不动产登记申请书", "Real estate registration application", template=True,
                     fmt="申请人签字或电子签名", fmt_en="Signed or e-signed")
RE_FEE = (8000, FEE_REAL_ESTATE)
RE_LAW = "《不动产登记暂行条例》第十四条、第二十条；《中华人民共和国民法典》第二百零九条、第二百一十条"

item("ZR-0001", ("不动产首次登记（新建商品房转移）", "First registration of a new home (title deed for a new flat)"),
     "ziranziyuan", ["housing"], ["办房产证", "新房办证", "房本", "不动产权证", "办房本", "新房房产证"],
     law=RE_LAW + "；《不动产登记暂行条例实施细则》第三十八条",
     cond="开发企业已办理国有建设用地使用权及房屋所有权首次登记，购房人已交付房款、缴纳契税并取得房屋。",
     mats=[RE_APPLICATION, ID_CARD, mat("purchase_contract", "商品房买卖合同", "Purchase contract for a new home", ooc="copy"),
           mat("deed_tax", "契税完税凭证", "Deed tax receipt", fmt="税务信息共享的免于提交"),
           opt(MARRIAGE_CERT)],
     steps=["开发企业统一申请或购房人在“示范政务”小程序提交登记申请，“交房即交证”项目由开发企业代办。",
            "不动产登记中心受理后查验申请材料与不动产登记簿记载信息。",
            "缴纳登记费80元（“交房即交证”项目由开发企业缴纳）。",
            "5个工作日内登簿并缮证，可领取纸质证书或电子证照，也可选择邮寄。"],
     limit=(30, 5), fee=RE_FEE, halls=["real_estate"], audience="both",
     result=("不动产权证书", "Real estate title certificate"), post=True,
     form_fields=[field("property_address", "房屋坐落", "Property address", maxLength=200),
                  field("contract_no", "网签合同编号", "Contract registration number", maxLength=40)],
     depth="online_application")

item("ZR-0002", ("不动产转移登记（存量房买卖）", "Transfer registration for a second-hand home sale"), "ziranziyuan", ["housing"],
     ["二手房过户", "房产过户", "房子过户", "买卖过户", "二手房交易登记"],
     law=RE_LAW + "；《不动产登记暂行条例实施细则》第三十八条",
     cond="买卖双方已签订存量房买卖合同并网签备案，房屋无查封、无异议登记；有抵押的已注销抵押或经抵押权人同意。",
     mats=[RE_APPLICATION, mat("seller_buyer_ids", "买卖双方身份证明", "Identity documents of buyer and seller"),
           PROPERTY_CERT, mat("resale_contract", "存量房买卖合同", "Second-hand home sale contract"),
           mat("tax_receipt", "税费缴纳凭证", "Proof of taxes paid", fmt="“一窗受理”的由税务部门同步推送")],
     steps=["买卖双方在不动产登记中心“一窗受理”窗口同时提交登记和税费申报材料。",
            "税务部门同步核定并征收税费，登记机构同步审核。",
            "缴纳登记费80元，由买方承担。",
            "当日或5个工作日内登簿，买方领取新不动产权证书，可选择邮寄。"],
     limit=(30, 5), fee=RE_FEE, halls=["real_estate"],
     result=("不动产权证书", "Real estate title certificate"), post=True,
     form_fields=[field("property_address", "房屋坐落", "Property address", maxLength=200),
                  field("price_yuan", "成交价格（元）", "Price (yuan)", kind="number", minimum=0)],
     depth="at_most_one_visit")

item("ZR-0003", ("不动产抵押权登记", "Registration of a mortgage on real estate"), "ziranziyuan", ["housing"],
     ["房屋抵押", "房贷抵押", "抵押登记", "房产抵押", "贷款抵押登记"],
     law="《中华人民共和国民法典》第三百九十五条、第四百零二条；《不动产登记暂行条例实施细则》第六十六条",
     cond="以不动产设定抵押担保的，抵押人和抵押权人共同申请抵押权登记。",
     mats=[RE_APPLICATION, PROPERTY_CERT,
           mat("mortgage_contract", "抵押合同和主债权合同", "Mortgage contract and loan contract"),
           mat("mortgagee_proof", "抵押权人身份证明", "Identity of the mortgagee", ooc="copy")],
     steps=["银行通过“不动产+金融”服务平台在线提交抵押登记申请。",
            "登记机构审核抵押合同与登记簿信息，当场或3个工作日内登簿。",
            "向抵押权人核发不动产登记证明（电子证明同步推送至银行）。"],
     limit=(30, 3), fee=RE_FEE, halls=["real_estate"], audience="both",
     result=("不动产登记证明（抵押权）", "Real estate registration certificate (mortgage)"),
     post="电子登记证明推送至抵押权人，不邮寄",
     form_fields=[field("property_address", "房屋坐落", "Property address", maxLength=200),
                  field("mortgagee", "抵押权人", "Mortgagee", maxLength=100),
                  field("amount_yuan", "被担保主债权数额（元）", "Secured amount (yuan)", kind="number", minimum=0)],
     depth="whole_process_online")

item("ZR-0004", ("不动产登记资料查询", "Searching real estate registration records"), "ziranziyuan", ["housing"],
     ["查房产", "房产查询", "查档", "无房证明", "不动产查询", "有房证明"],
     law="《不动产登记资料查询暂行办法》（国土资源部令第80号）第十四条、第十九条",
     cond="权利人及利害关系人可以查询、复制不动产登记结果；查询本人在本市名下有无不动产的可在线开具查询结果证明。",
     mats=[ID_CARD, mat("query_form", "不动产登记资料查询申请书", "Records search application", template=True)],
     steps=["在“示范政务”小程序选择“不动产权属查询”，完成人脸识别。",
            "系统即时生成带电子印章的不动产登记资料查询结果证明。",
            "利害关系人查询的，到不动产登记中心窗口提交申请和利害关系证明。"],
     limit=(5, 0), fee=None, halls=["real_estate"],
     result=("不动产登记资料查询结果证明", "Certificate of search results"), post="电子证明在线下载，不邮寄",
     form_fields=[field("scope", "查询范围", "Scope", enum=["本人名下全部不动产", "指定不动产"])],
     depth="whole_process_online")

item("ZR-0005", ("预购商品房预告登记", "Advance notice registration of a pre-sale home"), "ziranziyuan", ["housing"],
     ["预告登记", "期房预告登记", "预售房登记", "期房登记"],
     law="《中华人民共和国民法典》第二百二十一条；《不动产登记暂行条例实施细则》第八十五条",
     cond="购买预售商品房并已网签备案的，当事人可按照约定申请预告登记，保障将来实现物权。",
     mats=[RE_APPLICATION, ID_CARD, mat("presale_contract", "已备案的商品房预售合同", "Registered pre-sale contract")],
     steps=["开发企业或银行代购房人在线提交预告登记申请。",
            "登记机构审核预售合同备案信息。",
            "3个工作日内登簿并核发不动产登记证明（预告登记）。"],
     limit=(30, 3), fee=(8000, FEE_REAL_ESTATE), halls=["real_estate"],
     result=("不动产登记证明（预告登记）", "Registration certificate (advance notice)"),
     post=True, form_fields=[field("contract_no", "预售合同备案号", "Pre-sale contract number", maxLength=40)],
     depth="whole_process_online")

# =============================================================================================
# 民政 (婚姻、救助、殡葬、社会组织)
# =============================================================================================
MARRIAGE_STATEMENT = mat("marriage_statement", "申请结婚登记声明书", "Declaration for marriage registration", medium="paper",
                         template=True, fmt="双方当场在登记员面前签名，不得代签", fmt_en="Signed by both in front of the registrar")

item("MZ-0001", ("内地居民结婚登记", "Marriage registration for mainland residents"), "minzheng", ["marriage"],
     ["领结婚证", "结婚证", "登记结婚", "领证", "扯证", "办结婚证"],
     law=("《中华人民共和国民法典》第一千零四十六条、第一千零四十九条；《婚姻登记条例》第四条、第五条、第七条",
          "Civil Code of the PRC, Articles 1046 and 1049; Regulations on Marriage Registration, Articles 4, 5 and 7"),
     cond=("男女双方完全自愿；男年满二十二周岁、女年满二十周岁；双方均无配偶；不是直系血亲或三代以内旁系血亲；"
           "双方须亲自到婚姻登记机关申请。自2023年起可在全省任一婚姻登记机关办理。",
           "Both consent freely; the man is at least 22 and the woman at least 20; neither is married; not closely related; "
           "both must appear in person. Any registry in the province may register."),
     mats=[mat("both_ids", "双方居民身份证", "Both parties' identity cards"),
           mat("both_hukou", "双方居民户口簿", "Both parties' household booklets", fmt="全省通办地区可免于提交"),
           mat("wedding_photos", "双方近期半身免冠合影照片", "Recent joint photos", copies=3,
               fmt="2寸红底合影，可在登记中心现场拍摄", fmt_en="2-inch on red background; can be taken on site"),
           MARRIAGE_STATEMENT],
     steps=[("在“示范政务”小程序预约登记日期和时段（可不预约，现场取号）。",
             "Book a date in the mini-program (or take a ticket on the day)."),
            ("双方共同到婚姻登记中心，交验证件并在登记员面前签署申请结婚登记声明书。",
             "Both come to the registry, show documents and sign the declaration before the registrar."),
            ("登记员审查并询问双方意愿，符合条件的当场予以登记。",
             "The registrar checks and asks both parties; eligible couples are registered on the spot."),
            ("当场颁发结婚证，可参加颁证仪式。", "Marriage certificates are issued at once; a ceremony is available.")],
     limit=(1, 0), fee=None, halls=["marriage"],
     result=("结婚证", "Marriage certificate"),
     form_fields=[field("partner_name", "对方姓名", "Partner's name", maxLength=30),
                  field("partner_id_number", "对方公民身份号码", "Partner's ID number", pattern="^[0-9]{17}[0-9Xx]$"),
                  field("date", "预约登记日期", "Preferred date", format="date")])

item("MZ-0002", ("内地居民离婚登记", "Divorce registration for mainland residents"), "minzheng", ["marriage"],
     ["离婚", "协议离婚", "办离婚", "离婚证", "离婚冷静期"],
     law="《中华人民共和国民法典》第一千零七十六条、第一千零七十七条、第一千零七十八条；《婚姻登记条例》第十条、第十三条",
     cond="双方自愿离婚并签订书面离婚协议，对子女抚养、财产及债务处理等事项协商一致；须经30日离婚冷静期后双方亲自到场领证。",
     mats=[mat("both_ids", "双方居民身份证", "Both parties' identity cards"), MARRIAGE_CERT,
           mat("divorce_agreement", "离婚协议书", "Divorce agreement", copies=3, medium="paper", template=True,
               fmt="载明双方自愿离婚的意思表示及子女抚养、财产、债务处理意见"),
           mat("divorce_photo", "双方各自近期半身免冠照片", "Recent photo of each party", copies=2)],
     steps=["双方共同到婚姻登记机关提交离婚登记申请，登记机关当场出具回执。",
            "自收到申请之日起30日为离婚冷静期，任何一方不愿离婚的可撤回申请。",
            "冷静期届满后30日内，双方共同到场申请发给离婚证；未申请的视为撤回。",
            "登记员审查离婚协议，符合条件的当场登记并发给离婚证。"],
     limit=(1, 0), fee=None, halls=["marriage"], result=("离婚证", "Divorce certificate"),
     form_fields=[field("partner_name", "对方姓名", "Other party's name", maxLength=30)])

item("MZ-0003", ("补领婚姻登记证", "Replacement of a marriage or divorce certificate"), "minzheng", ["marriage"],
     ["补结婚证", "结婚证丢了", "补办结婚证", "补领结婚证", "补领离婚证"],
     law="《婚姻登记条例》第十七条；《婚姻登记工作规范》第五十五条",
     cond="结婚证、离婚证遗失或者损毁的当事人，可持身份证件向原办理婚姻登记的机关或一方户籍所在地婚姻登记机关申请补领。",
     mats=[ID_CARD, mat("cert_photo", "近期半身免冠照片", "Recent photo", copies=2, fmt="补领结婚证提交双方合影"),
           mat("reissue_statement", "申请补领婚姻登记证声明书", "Declaration for a replacement certificate", medium="paper", template=True)],
     steps=["当事人到婚姻登记中心，交验身份证件并签署声明书。",
            "登记员查阅婚姻登记档案，核实原登记信息。",
            "符合条件的当场补发婚姻登记证。"],
     limit=(1, 0), fee=None, halls=["marriage"], result=("结婚证或离婚证", "Marriage or divorce certificate"),
     form_fields=[field("cert_type", "补领证件", "Certificate", enum=["结婚证", "离婚证"]),
                  field("registered_year", "原登记年份", "Year of registration", kind="integer", minimum=1950)])

for code, region, hall, district in (("MZ-0104", "330106", "nanjiang_center", "南江区"),
                                     ("MZ-0204", "330122", "qingxi_center", "青溪县")):
    item(code, ("最低生活保障审核确认", "Minimum living allowance (dibao) approval"), "minzheng", ["social_assistance"],
         ["低保", "申请低保", "低保户", "吃低保", "最低生活保障金"],
         law="《社会救助暂行办法》第九条、第十条、第十一条；《最低生活保障审核确认办法》（民发〔2021〕57号）第十二条",
         cond=f"{district}户籍的家庭，共同生活的家庭成员人均收入低于当地最低生活保障标准，且家庭财产状况符合规定。",
         mats=[ID_CARD, HUKOU,
               mat("income_statement", "家庭收入和财产状况申报表", "Household income and assets declaration", template=True),
               mat("check_authorization", "家庭经济状况核对授权书", "Authorisation to check household finances", template=True,
                   fmt="共同生活的家庭成员均须签字"),
               opt(mat("illness_proof", "疾病或残疾证明", "Proof of illness or disability", ooc="copy"))],
         steps=["向户籍所在地乡镇人民政府（街道办事处）或在“示范政务”小程序提出申请，也可由村（居）民委员会代为提出。",
                "乡镇（街道）通过入户调查、邻里访问和信息核对系统核查家庭经济状况。",
                "调查结果在村（居）务公开栏公示7天。",
                f"{district}民政局审核确认，符合条件的自次月起按月发放低保金，不符合的书面说明理由。"],
         limit=(30, 20), fee=None, halls=[hall], region=region,
         result=("最低生活保障审核确认决定", "Decision on the minimum living allowance"), post=True,
         form_fields=[field("members", "共同生活家庭成员人数", "Household size", kind="integer", minimum=1),
                      field("monthly_income_yuan", "家庭月收入（元）", "Household monthly income (yuan)", kind="number", minimum=0)],
         depth="online_application")

item("MZ-0005", ("高龄津贴申领", "Old-age allowance for people aged 80 and over"), "minzheng", ["pension", "social_assistance"],
     ["高龄补贴", "老人补贴", "高龄老人补贴", "80岁补贴", "尊老金"],
     law="《中华人民共和国老年人权益保障法》第三十三条",
     cond="本市户籍、年满80周岁的老年人，按年龄段每月发放高龄津贴。",
     mats=[ID_CARD, BANK_CARD],
     steps=["老年人年满80周岁前一个月，系统根据户籍信息主动推送申领提醒。",
            "本人或家属在“示范政务”小程序一键确认，或到社区服务中心申请。",
            "区（县）民政部门审核后，自满80周岁次月起按月发放到本人社会保障卡。"],
     limit=(20, 10), fee=None, halls=["civil_affairs"],
     result=("高龄津贴发放通知", "Notice of allowance payment"), result_sample=False, post="结果短信通知，不邮寄",
     form_fields=[field("elder_name", "老人姓名", "Name of the elder", maxLength=30)], depth="whole_process_online")

item("MZ-0006", ("困难残疾人生活补贴和重度残疾人护理补贴", "Living subsidy and nursing subsidy for disabled persons"), "minzheng",
     ["disability", "social_assistance"], ["残疾人两项补贴", "残疾人补贴", "重度残疾人护理补贴", "残疾人生活补贴"],
     law="《国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见》（国发〔2015〕52号）",
     cond="持有第二代残疾人证的本市户籍残疾人：低保家庭中的残疾人可享受生活补贴；残疾等级为一级、二级且需要长期照护的可享受护理补贴。",
     mats=[ID_CARD, mat("disability_cert", "中华人民共和国残疾人证", "Disability certificate"), BANK_CARD],
     steps=["在“示范政务”小程序或乡镇（街道）社会救助窗口提交申请。",
            "乡镇（街道）初审并公示，县级残联核对残疾等级。",
            "县级民政部门审核确认，次月起按月发放补贴。"],
     limit=(30, 15), fee=None, halls=["civil_affairs", "disabled"],
     result=("残疾人两项补贴审核确认结果", "Subsidy decision"), result_sample=False, post="结果短信通知，不邮寄",
     form_fields=[field("subsidy", "申请补贴", "Subsidy", enum=["生活补贴", "护理补贴", "两项都申请"])],
     depth="online_application")

item("MZ-0007", ("社会团体成立登记", "Registration of a social organisation"), "minzheng", ["social_organization"],
     ["成立协会", "社团登记", "成立社团", "协会注册", "商会登记"],
     law="《社会团体登记管理条例》第三条、第十条、第十一条、第十二条",
     cond="有50个以上的个人会员或者30个以上的单位会员；有规范的名称和相应的组织机构；有固定的住所；有与业务活动相适应的专职工作人员；有合法的资产和经费来源，地方性社会团体有3万元以上活动资金；经业务主管单位审查同意。",
     mats=[mat("society_application", "社会团体成立登记申请书", "Application for registration of a social organisation", template=True),
           mat("sponsor_approval", "业务主管单位批准文件", "Approval of the sponsoring unit"),
           mat("capital_verification", "验资报告", "Capital verification report"),
           mat("society_charter", "社会团体章程草案", "Draft charter", template=True),
           mat("premises_proof", "住所使用权证明", "Proof of premises", ooc="copy")],
     steps=["发起人向业务主管单位申请审查同意。",
            "在“示范政务”小程序提交成立登记申请和材料。",
            "登记管理机关自收到全部有效文件之日起60日内作出准予或不予登记的决定。",
            "准予登记的发给社会团体法人登记证书，并予以公告。"],
     limit=(60, 30), fee=None, halls=["civil_affairs"], audience="enterprise",
     result=("社会团体法人登记证书", "Certificate of registration as a social organisation"), post=True,
     form_fields=[field("society_name", "社会团体名称", "Name", maxLength=60),
                  field("members", "会员数量", "Number of members", kind="integer", minimum=1)],
     form_base="company", depth="online_application")

item("MZ-0008", ("基本殡葬服务费用减免", "Exemption from basic funeral service fees"), "minzheng",
     ["funeral", "social_assistance"], ["殡葬补贴", "丧葬费减免", "火化费减免", "惠民殡葬"],
     law="《殡葬管理条例》第三条；《民政部等16部门关于进一步推动殡葬改革促进殡葬事业发展的指导意见》（民发〔2018〕5号）",
     cond="在本市去世的本市户籍居民和持本市居住证的人员，火化的可减免遗体接运、存放、火化和骨灰寄存等基本殡葬服务费用。",
     mats=[mat("death_proof", "居民死亡医学证明（推断）书", "Medical certificate of death"),
           mat("applicant_id", "丧事承办人居民身份证", "ID card of the person arranging the funeral")],
     steps=["丧事承办人在殡仪馆办理火化手续时提出减免申请。",
            "殡仪馆当场核对户籍或居住证信息。",
            "符合条件的在结算时直接减免，无需垫付后报销。"],
     limit=(1, 0), fee=None, halls=["civil_affairs"],
     result=("基本殡葬服务费用减免结算单", "Funeral fee exemption statement"),
     form_fields=[field("deceased_name", "逝者姓名", "Name of the deceased", maxLength=30)])

# =============================================================================================
# 教育
# =============================================================================================
item("JY-0001", ("教师资格认定", "Teacher qualification certification"), "jiaoyu", ["education", "employment"],
     ["教师资格证", "教资认定", "教资", "认定教师资格", "办教师资格证"],
     law="《中华人民共和国教师法》第十条、第十一条、第十三条；《教师资格条例》第十三条、第十五条；《〈教师资格条例〉实施办法》（教育部令第10号）第十六条",
     cond="遵守宪法和法律，热爱教育事业，具有良好的思想品德；具备相应学历；中小学教师资格考试合格或免试认定改革的师范生；普通话水平达到二级乙等以上（语文教师二级甲等以上）；体检合格。",
     mats=[ID_CARD, mat("teacher_diploma", "学历证书", "Diploma", fmt="学信网可在线核验的免于提交"),
           mat("teacher_exam", "中小学教师资格考试合格证明", "Teacher qualification exam certificate",
               fmt="系统自动核验，无需上传"),
           mat("mandarin_cert", "普通话水平测试等级证书", "Mandarin proficiency certificate"),
           mat("medical_exam", "教师资格认定体格检查表", "Medical examination form", medium="paper", template=True,
               fmt="在指定医院体检，由医院直接报送"),
           PHOTO],
     steps=["在“中国教师资格网”填报认定申请，选择示范市教育局为认定机构。",
            "按公告时间到指定医院体检，现场确认时提交照片。",
            "认定机构审查学历、考试合格证明、普通话证书和体检结果。",
            "法定受理期限终止之日起30个工作日内作出认定决定。",
            "颁发教师资格证书，可到窗口领取或选择邮寄；同步生成电子证照。"],
     limit=(30, 20), fee=None, halls=["education"],
     result=("教师资格证书", "Teacher qualification certificate"), post=True,
     form_fields=[field("level", "资格种类", "Level", enum=["幼儿园", "小学", "初级中学", "高级中学", "中等职业学校"]),
                  field("subject", "任教学科", "Subject", maxLength=30)],
     depth="online_application")

for code, region, hall, district in (("JY-0102", "330102", "donghu_center", "东湖区"),
                                     ("JY-0282", "330182", "yunling_center", "云岭市")):
    item(code, ("义务教育阶段新生入学登记", "Enrolment in primary and junior secondary school"), "jiaoyu", ["education"],
         ["小学报名", "幼升小", "小升初", "新生入学", "入学报名", "上学报名", "一年级报名"],
         law="《中华人民共和国义务教育法》第五条、第十一条、第十二条",
         cond=f"年满6周岁的适龄儿童和小学毕业生，在{district}有户籍或父母一方持{district}居住证，按学区就近入学。",
         mats=[HUKOU, mat("child_birth_cert", "儿童出生医学证明", "Child's medical certificate of birth", ooc="copy"),
               mat("housing_proof", "房产证明或租赁备案证明", "Proof of home ownership or registered lease", ooc="copy"),
               opt(mat("parent_residence_permit", "父母居住证和社保缴纳证明", "Parents' residence permit and social insurance record",
                       fmt="非本地户籍儿童提交"))],
         steps=[f"每年5月在“{district}义务教育招生报名系统”或“示范政务”小程序在线报名，填写儿童和监护人信息。",
                "系统自动核验户籍、房产和居住证信息，无需到校提交纸质材料。",
                "学校审核后公布录取结果，多校划片的电脑派位。",
                "8月下旬领取入学通知书，按时到校报到。"],
         limit=(30, 20), fee=None, halls=[hall], region=region,
         result=("新生入学通知书", "Admission notice"), post=True,
         form_fields=[field("child_name", "儿童姓名", "Child's name", maxLength=30),
                      field("child_id_number", "儿童公民身份号码", "Child's ID number", pattern="^[0-9]{17}[0-9Xx]$"),
                      field("grade", "入学年级", "Grade", enum=["小学一年级", "初中一年级"])],
         depth="whole_process_online")

item("JY-0003", ("中小学生转学", "Transfer of primary and secondary school students"), "jiaoyu", ["education"],
     ["转学", "转学籍", "学籍转接", "孩子转学", "学生转学"],
     law="《中小学生学籍管理办法》（教基一〔2013〕7号）第十四条、第十五条",
     cond="因户籍迁移、家庭住址变化等原因需转学，转入学校同意接收。",
     mats=[HUKOU, mat("transfer_application", "中小学生转学申请表", "Transfer application form", medium="paper", template=True),
           mat("accept_letter", "转入学校接收证明", "Acceptance letter from the new school")],
     steps=["家长向转入学校提出申请，转入学校同意接收后出具接收证明。",
            "转入学校通过全国中小学生学籍信息管理系统发起转学申请。",
            "转出学校和双方教育行政部门在系统中依次核办。",
            "学籍转接完成后到转入学校报到。"],
     limit=(15, 10), fee=None, halls=["education"],
     result=("学籍转接完成通知", "Notice of completed transfer"), result_sample=False,
     form_fields=[field("student_name", "学生姓名", "Student's name", maxLength=30),
                  field("from_school", "转出学校", "Current school", maxLength=100),
                  field("to_school", "转入学校", "New school", maxLength=100)],
     depth="online_application")


# =============================================================================================
# 税务
# =============================================================================================
item("SW-0001", ("个人所得税纳税记录开具", "Individual income tax payment record"), "shuiwu", ["tax"],
     ["完税证明", "纳税证明", "个税证明", "纳税记录", "个税完税证明", "开个税证明"],
     law="《中华人民共和国税收征收管理法》第三十四条；《国家税务总局关于将个人所得税〈税收完税证明〉（文书式）调整为〈纳税记录〉有关事项的公告》（国家税务总局公告2018年第55号）",
     cond="纳税人可就其在本市已申报缴纳的个人所得税，开具本人的《纳税记录》，用于购房、落户、办理签证等。",
     mats=[ID_CARD],
     steps=["在“个人所得税”App或电子税务局选择“开具纳税记录”，选择起止年月。",
            "系统即时生成带电子签章的《纳税记录》PDF，可下载或分享。",
            "使用方可通过纳税记录上的验证码在电子税务局核验真伪；也可到办税服务厅自助打印。"],
     limit=(1, 0), fee=None, halls=["tax"],
     result=("中华人民共和国个人所得税纳税记录", "Individual income tax payment record"), post="电子文书在线下载，不邮寄",
     form_fields=[field("from_month", "起始年月", "From (month)", pattern="^\\d{4}-\\d{2}$"),
                  field("to_month", "截止年月", "To (month)", pattern="^\\d{4}-\\d{2}$")],
     depth="whole_process_online")

item("SW-0002", ("税收完税证明开具", "Tax payment certificate"), "shuiwu", ["tax"],
     ["开完税证明", "车船税完税证明", "契税完税证明", "缴税证明"],
     law="《中华人民共和国税收征收管理法》第三十四条；《税收票证管理办法》（国家税务总局令第28号）第十二条",
     cond="纳税人已缴纳车船税、契税、房产税等税款，需要开具完税证明的。",
     mats=[ID_CARD, opt(mat("payment_voucher", "缴款凭证", "Payment voucher", ooc="copy"))],
     steps=["通过电子税务局或办税服务厅提出开具申请，选择税种和缴款期间。",
            "系统核对入库信息后即时开具《税收完税证明》（表格式或文书式）。",
            "在线下载或在办税服务厅领取。"],
     limit=(1, 0), fee=None, halls=["tax"], audience="both",
     result=("税收完税证明", "Tax payment certificate"), post="在线下载，不邮寄",
     form_fields=[field("tax_type", "税种", "Tax", enum=["车船税", "契税", "房产税", "城镇土地使用税", "其他"])],
     depth="whole_process_online")

item("SW-0003", ("个人所得税综合所得年度汇算", "Annual reconciliation of individual income tax"), "shuiwu", ["tax"],
     ["个税汇算", "个税退税", "退税", "年度汇算", "个税年度汇算清缴", "个税补税"],
     law="《中华人民共和国个人所得税法》第二条、第六条、第十一条；《中华人民共和国个人所得税法实施条例》第二十五条",
     cond="取得工资薪金、劳务报酬、稿酬、特许权使用费综合所得的居民个人，预缴税额与年度应纳税额不一致需退税或补税的，于次年3月1日至6月30日办理。",
     mats=[ID_CARD, mat("deduction_info", "专项附加扣除信息", "Special additional deduction information",
                        medium="electronic", fmt="在App中填报，无需纸质材料")],
     steps=["在“个人所得税”App进入“综合所得年度汇算”，系统自动预填全年收入和已预缴税款。",
            "核对收入，补充填报专项附加扣除等信息，系统自动计算应退或应补税额。",
            "提交申报；申请退税的选择本人银行卡，税务机关审核后办理退库。",
            "需补税的在线缴纳，6月30日前完成。"],
     limit=(20, 10), fee=None, halls=["tax"],
     result=("个人所得税年度自行纳税申报表（回执）", "Annual tax return receipt"), result_sample=False,
     post="申报回执在线查看，不邮寄",
     form_fields=[field("tax_year", "汇算年度", "Tax year", kind="integer", minimum=2019)], depth="whole_process_online")

item("SW-0004", ("发票领用", "Obtaining invoices"), "shuiwu", ["tax", "business"],
     ["领发票", "申领发票", "发票申领", "开发票额度", "数电票"],
     law="《中华人民共和国发票管理办法》第十五条、第十六条；《中华人民共和国发票管理办法实施细则》第十五条",
     cond="依法办理税务登记的单位和个人，在领取税务登记证件（营业执照）后需要领用发票的；全面数字化电子发票试点纳税人按授信额度开票。",
     mats=[BIZ_LICENSE, mat("operator_id", "经办人居民身份证", "Operator's ID card")],
     steps=["新办纳税人在电子税务局完成实名认证和税务信息确认。",
            "税务机关根据纳税人风险等级自动赋予数电发票开具额度。",
            "纳税人在电子税务局开具发票；额度不足的可在线申请调整。"],
     limit=(5, 1), fee=None, halls=["tax"], audience="enterprise",
     result=("发票开具额度核定结果", "Invoice quota"), result_sample=False, post="线上即时生效，无需邮寄",
     form_fields=[field("invoice_type", "发票种类", "Invoice type", enum=["数电发票（普通发票）", "数电发票（增值税专用发票）"])],
     form_base="company", depth="whole_process_online")

item("SW-0005", ("契税申报", "Deed tax return"), "shuiwu", ["tax", "housing"],
     ["契税", "买房交契税", "交契税", "房屋契税", "缴纳契税"],
     law="《中华人民共和国契税法》第一条、第三条、第九条、第十条",
     cond="在本市转移土地、房屋权属的承受单位和个人，在依法办理土地、房屋权属登记手续前申报缴纳契税。",
     mats=[ID_CARD, mat("purchase_contract", "房屋买卖合同", "Purchase contract", ooc="copy"),
           opt(mat("family_house_proof", "家庭住房情况查询结果", "Household housing record", fmt="申请首套、二套优惠税率时提交"))],
     steps=["在不动产登记中心“一窗受理”窗口或电子税务局提交契税申报。",
            "税务机关核定计税价格和适用税率（首套90平方米以下1%等）。",
            "缴纳税款后开具完税凭证，登记信息同步推送不动产登记机构。"],
     limit=(1, 0), fee=None, halls=["real_estate", "tax"], audience="both",
     result=("契税完税凭证", "Deed tax receipt"), post="电子完税凭证推送至不动产登记机构",
     form_fields=[field("property_address", "房屋坐落", "Property address", maxLength=200),
                  field("area_sqm", "建筑面积（平方米）", "Floor area (m²)", kind="number", minimum=0)],
     depth="online_application")

item("SW-0006", ("清税证明开具（税务注销）", "Tax deregistration and tax clearance certificate"), "shuiwu", ["tax", "business"],
     ["清税证明", "税务注销", "注销税务登记", "公司注销清税"],
     law="《中华人民共和国税收征收管理法》第十六条；《中华人民共和国税收征收管理法实施细则》第十五条、第十六条",
     cond="纳税人发生解散、破产、撤销以及其他情形依法终止纳税义务，已结清应纳税款、滞纳金、罚款，缴销发票。",
     mats=[BIZ_LICENSE, mat("dereg_tax_form", "清税申报表", "Tax clearance return", template=True)],
     steps=["在电子税务局或企业开办一网通办平台“企业注销”专区提交清税申报。",
            "税务机关核查欠税、发票缴销和申报情况，符合即办条件的即时出具清税证明。",
            "不符合即办条件的一次性告知需结清的事项，结清后开具。"],
     limit=(20, 3), fee=None, halls=["tax"], audience="enterprise",
     result=("清税证明", "Tax clearance certificate"), post="电子清税证明在线下载",
     form_fields=[field("reason", "注销原因", "Reason", enum=["解散", "破产", "撤销", "其他"])],
     form_base="company", depth="whole_process_online")

# =============================================================================================
# 卫生健康
# =============================================================================================
item("WJ-0001", ("出生医学证明首次签发", "First issue of the medical certificate of birth"), "weijian", ["birth", "medical"],
     ["出生证", "出生证明", "办出生证", "出生医学证明办理"],
     law="《中华人民共和国母婴保健法》第二十三条；《中华人民共和国母婴保健法实施办法》第二十七条",
     cond="在本市具有助产资质的医疗保健机构内出生的新生儿；在医疗机构外出生的，经医学评估确认母婴亲子关系后签发。",
     mats=[mat("mother_id", "母亲居民身份证", "Mother's ID card"), mat("father_id", "父亲居民身份证", "Father's ID card"),
           mat("birth_cert_form", "出生医学证明首次签发登记表", "Birth certificate registration form", medium="paper", template=True)],
     steps=["新生儿出生后，父母在助产机构或“示范政务”小程序填写出生医学证明登记信息。",
            "父母核对新生儿姓名、性别、出生时间等信息并签字确认。",
            "助产机构签发出生医学证明，可同步办理出生登记、医保参保、社保卡申领（“出生一件事”）。"],
     limit=(5, 1), fee=None, halls=["hospital"],
     result=("出生医学证明", "Medical certificate of birth"), post=True,
     form_fields=[field("baby_name", "新生儿姓名", "Baby's name", maxLength=30),
                  field("birth_time", "出生时间", "Time of birth", format="date-time"),
                  field("hospital", "出生医院", "Hospital", maxLength=100)],
     depth="online_application")

item("WJ-0002", ("生育登记", "Birth registration with the health authority (family planning)"), "weijian", ["birth"],
     ["准生证", "生育服务证", "生育证", "办准生证", "生育服务登记"],
     law="《中华人民共和国人口与计划生育法》第十八条、第二十一条",
     cond="夫妻双方或一方为本市户籍，或在本市居住的流动人口，生育子女的实行生育登记服务，不设前置条件。",
     mats=[mat("couple_ids", "夫妻双方居民身份证", "Both spouses' ID cards"), MARRIAGE_CERT],
     steps=["在“示范政务”小程序填写生育登记信息，夫妻双方在线确认。",
            "系统自动核验户籍、婚姻信息，即时完成登记。",
            "生成电子《生育登记服务单》，用于孕产期保健服务和生育津贴申领。"],
     limit=(1, 0), fee=None, halls=["health", "donghu_center"],
     result=("生育登记服务单（电子）", "Birth registration service sheet (electronic)"), post="电子服务单在线下载",
     form_fields=[field("spouse_name", "配偶姓名", "Spouse's name", maxLength=30),
                  field("child_order", "生育孩次", "Child number", kind="integer", minimum=1, maximum=5),
                  field("due_date", "预产期", "Due date", format="date")],
     depth="whole_process_online")

item("WJ-0003", ("医师执业注册", "Registration of a medical practitioner"), "weijian", ["employment", "medical"],
     ["医师执业证", "医生执业注册", "医生执业证", "医师注册"],
     law="《中华人民共和国医师法》第十三条、第十四条、第十六条；《医师执业注册管理办法》（国家卫生和计划生育委员会令第13号）第九条",
     cond="取得医师资格，拟在本市医疗、预防、保健机构执业的医师。",
     mats=[ID_CARD, mat("physician_qualification", "医师资格证书", "Physician qualification certificate"),
           mat("physician_health", "近6个月内的健康体检证明", "Health check within 6 months"),
           mat("employer_letter", "医疗卫生机构拟聘用证明", "Letter of intent from the health institution", template=True)],
     steps=["通过国家医师电子注册系统提交注册申请，选择执业地点、类别和范围。",
            "拟执业机构审核并确认。",
            "卫生健康主管部门自受理之日起20个工作日内准予注册。",
            "核发电子医师执业证书。"],
     limit=(20, 10), fee=None, halls=["health"],
     result=("医师执业证书（电子证照）", "Medical practitioner's licence (electronic)"), post="电子证照，无需邮寄",
     form_fields=[field("category", "执业类别", "Practice category", enum=["临床", "中医", "口腔", "公共卫生"]),
                  field("institution", "执业机构", "Institution", maxLength=100)],
     depth="whole_process_online")

item("WJ-0004", ("护士执业注册", "Registration of a nurse"), "weijian", ["employment", "medical"],
     ["护士证", "护士执业证", "护士注册", "护士首次注册"],
     law="《护士条例》第七条、第八条；《护士执业注册管理办法》（国家卫生健康委员会令第1号修订）第六条",
     cond="具有完全民事行为能力，完成规定的护理专业学历教育，通过国务院卫生主管部门组织的护士执业资格考试，符合健康标准。",
     mats=[ID_CARD, mat("nurse_exam", "护士执业资格考试成绩合格证明", "Nurse qualification exam pass certificate"),
           mat("nurse_health", "6个月内健康体检证明", "Health check within 6 months"),
           mat("nurse_employer", "医疗卫生机构拟聘用证明", "Letter of intent from the health institution", template=True)],
     steps=["通过护士电子化注册系统提交注册申请。",
            "拟执业医疗机构审核确认。",
            "卫生健康主管部门自受理之日起20个工作日内作出决定。",
            "准予注册的核发电子护士执业证书。"],
     limit=(20, 10), fee=None, halls=["health"],
     result=("护士执业证书（电子证照）", "Nurse's licence (electronic)"), post="电子证照，无需邮寄",
     form_fields=[field("institution", "执业机构", "Institution", maxLength=100)], depth="whole_process_online")

item("WJ-0005", ("公共场所卫生许可", "Public place hygiene licence"), "weijian", ["business"],
     ["卫生许可证", "美容院卫生许可", "宾馆卫生许可", "公共场所卫生许可证"],
     law="《公共场所卫生管理条例》第八条；《公共场所卫生管理条例实施细则》第二十二条、第二十三条",
     cond="经营住宿、沐浴、美容美发等公共场所，场所布局和设施符合卫生标准和要求，具有卫生管理制度和卫生管理人员。",
     mats=[mat("hygiene_application", "公共场所卫生许可申请表", "Hygiene licence application form", template=True),
           BIZ_LICENSE, mat("hygiene_plan", "场所平面布局图", "Floor plan", sample=True),
           mat("hygiene_test", "卫生检测报告", "Hygiene test report")],
     steps=["在“示范政务”小程序提交申请，作出符合卫生要求的告知承诺的可当场发证。",
            "未选择告知承诺的，卫生健康部门在5个工作日内进行现场审查。",
            "审查合格的作出准予许可决定，核发公共场所卫生许可证。",
            "告知承诺发证的在3个月内接受核查。"],
     limit=(20, 5), fee=None, halls=["health", "nanjiang_center"], audience="enterprise",
     result=("公共场所卫生许可证", "Public place hygiene licence"), post=True,
     form_fields=[field("place_type", "场所类别", "Type of place", enum=["住宿场所", "沐浴场所", "美容美发场所", "游泳场所"]),
                  field("commitment", "是否选择告知承诺", "Use the commitment procedure", kind="boolean")],
     form_base="company", depth="online_application")

# =============================================================================================
# 残联
# =============================================================================================
DISABILITY_FORM = mat("disability_form", "中华人民共和国残疾人证申请表", "Disability certificate application form",
                      medium="paper", template=True)

item("CL-0001", ("残疾人证核发", "Issuing the disability certificate"), "canlian", ["disability"],
     ["办残疾证", "残疾证", "残疾人证办理", "申请残疾证", "残疾评定"],
     law="《中华人民共和国残疾人保障法》第二条、第三条；《中华人民共和国残疾人证管理办法》（残联发〔2017〕29号）第八条、第九条",
     cond="符合残疾标准的视力、听力、言语、肢体、智力、精神及多重残疾人，本市户籍，由本人或监护人申请。",
     mats=[ID_CARD, HUKOU, PHOTO, DISABILITY_FORM],
     steps=["在“示范政务”小程序或户籍所在地街道（乡镇）残联提出申请。",
            "到指定评定机构进行残疾评定，行动不便的可申请上门评定。",
            "县级残联审核评定结果，符合标准的10个工作日内制发残疾人证。",
            "可选择到街道领取或邮寄到家，同步生成电子残疾人证。"],
     limit=(30, 20), fee=None, halls=["disabled", "qingxi_center"],
     result=("中华人民共和国残疾人证", "Disability certificate of the PRC"), post=True,
     form_fields=[field("type", "残疾类别", "Type of disability", enum=["视力", "听力", "言语", "肢体", "智力", "精神", "多重"])],
     depth="online_application")

item("CL-0002", ("残疾人证换领和补领", "Renewal and replacement of the disability certificate"), "canlian", ["disability"],
     ["残疾证换证", "残疾证到期", "补办残疾证", "残疾证丢了", "残疾证换领"],
     law="《中华人民共和国残疾人证管理办法》（残联发〔2017〕29号）第十四条、第十五条",
     cond="残疾人证有效期满、残疾类别或等级变化、证件损毁或遗失的持证人。",
     mats=[ID_CARD, PHOTO, DISABILITY_FORM,
           opt(mat("old_disability_cert", "原残疾人证", "Current disability certificate", fmt="遗失的免交"))],
     steps=["有效期满前90日内在“示范政务”小程序或街道残联申请换领。",
            "残疾等级无变化的无需重新评定；有变化的重新评定。",
            "县级残联审核后10个工作日内制发新证。"],
     limit=(30, 10), fee=None, halls=["disabled"],
     result=("中华人民共和国残疾人证", "Disability certificate of the PRC"), post=True,
     form_fields=[field("reason", "申请原因", "Reason", enum=["有效期满", "类别或等级变化", "损毁", "遗失"])],
     depth="online_application")

item("CL-0003", ("残疾人辅助器具适配补贴", "Assistive device subsidy for disabled persons"), "canlian",
     ["disability", "social_assistance"], ["辅助器具补贴", "轮椅补贴", "助听器补贴", "假肢补贴"],
     law="《中华人民共和国残疾人保障法》第四十九条；《国务院关于加快发展康复辅助器具产业的若干意见》（国发〔2016〕60号）",
     cond="持有本市残疾人证、经评估需要配置辅助器具的残疾人。",
     mats=[mat("disability_cert", "中华人民共和国残疾人证", "Disability certificate"),
           mat("device_assessment", "辅助器具适配评估表", "Assistive device assessment form", template=True)],
     steps=["在“示范政务”小程序或街道残联提出申请。",
            "辅助器具服务机构上门或到站评估，确定适配项目。",
            "在定点机构适配后直接结算补贴部分。"],
     limit=(20, 10), fee=None, halls=["disabled"],
     result=("辅助器具适配补贴结算单", "Subsidy statement"),
     form_fields=[field("device", "辅助器具", "Device", enum=["轮椅", "助听器", "假肢", "矫形器", "助视器", "其他"])],
     depth="online_application")

# =============================================================================================
# 交通运输
# =============================================================================================
item("JT-0001", ("出租汽车驾驶员从业资格证核发", "Taxi driver qualification certificate"), "jiaotong", ["employment", "vehicle"],
     ["出租车资格证", "的哥资格证", "出租车驾驶员证", "开出租车"],
     law="《出租汽车驾驶员从业资格管理规定》（交通运输部令2021年第15号）第九条、第十条",
     cond="取得相应准驾车型机动车驾驶证并具有3年以上驾驶经历；无交通肇事犯罪、危险驾驶犯罪记录，无吸毒记录，无饮酒后驾驶记录，最近连续3个记分周期内没有记满12分记录；无暴力犯罪记录。",
     mats=[ID_CARD, DRIVING_LICENCE,
           mat("no_crime", "无犯罪记录证明", "Certificate of no criminal record", fmt="公安信息共享的免于提交"),
           mat("taxi_application", "出租汽车驾驶员从业资格考试申请表", "Taxi driver exam application form", template=True)],
     steps=["在“示范政务”小程序报名参加全国公共科目和区域科目考试。",
            "考试合格后，交通运输部门核查驾驶记录和无犯罪记录。",
            "自考试合格之日起10日内核发从业资格证。"],
     limit=(10, 5), fee=None, halls=["transport"],
     result=("出租汽车驾驶员从业资格证", "Taxi driver qualification certificate"), post=True,
     form_fields=[field("type", "资格类别", "Category", enum=["巡游出租汽车", "网络预约出租汽车"])],
     depth="online_application")

item("JT-0002", ("网络预约出租汽车运输证核发", "Ride-hailing vehicle transport certificate"), "jiaotong", ["vehicle"],
     ["网约车运输证", "网约车证", "网约车车辆证", "跑网约车"],
     law="《网络预约出租汽车经营服务管理暂行办法》第十二条、第十三条",
     cond="7座及以下乘用车，安装具有行驶记录功能的车辆卫星定位装置和应急报警装置，车辆技术性能符合运营安全标准，符合本市车辆准入条件。",
     mats=[mat("vehicle_licence", "机动车行驶证", "Vehicle licence"),
           mat("platform_agreement", "与网约车平台公司签订的协议", "Agreement with the ride-hailing platform", ooc="copy"),
           mat("ride_hail_form", "网络预约出租汽车运输证申请表", "Transport certificate application form", template=True)],
     steps=["由网约车平台公司或车辆所有人在线提交申请。",
            "交通运输部门核查车辆技术条件和安装的设备。",
            "自受理之日起10个工作日内作出决定，准予许可的核发运输证。"],
     limit=(20, 10), fee=None, halls=["transport"], audience="both",
     result=("网络预约出租汽车运输证", "Ride-hailing vehicle transport certificate"), post=True,
     form_fields=[field("plate_no", "号牌号码", "Plate number", maxLength=10),
                  field("platform", "合作平台公司", "Platform company", maxLength=100)],
     depth="online_application")

item("JT-0003", ("机动车驾驶员培训经营备案", "Filing of a driver training business"), "jiaotong", ["business"],
     ["驾校备案", "开驾校", "驾驶员培训备案", "驾培机构备案"],
     law="《中华人民共和国道路运输条例》第三十八条、第三十九条；《机动车驾驶员培训管理规定》（交通运输部令2022年第32号）第十二条",
     cond="取得企业法人资格，有与培训业务相适应的教练场地、教练车辆和教练员，有健全的培训管理制度。",
     mats=[BIZ_LICENSE, mat("training_filing", "机动车驾驶员培训备案表", "Driver training filing form", template=True),
           mat("training_site", "教练场地使用证明", "Proof of the training ground"),
           mat("coach_list", "教练员名册", "List of instructors", template=True)],
     steps=["在取得营业执照之日起15日内通过“示范政务”小程序提交备案。",
            "交通运输部门核对备案材料，材料齐全的当场备案。",
            "在政府网站公开备案信息，并于备案后组织核查。"],
     limit=(5, 0), fee=None, halls=["transport"], audience="enterprise",
     result=("机动车驾驶员培训备案回执", "Filing receipt"),
     form_fields=[field("training_types", "培训车型", "Vehicle classes", kind="array",
                        items={"type": "string", "enum": ["C1", "C2", "B2", "A1", "A2", "D", "E"]})],
     form_base="company", depth="whole_process_online")

item("JT-0004", ("道路货物运输经营许可", "Road freight transport licence"), "jiaotong", ["business"],
     ["货运许可证", "道路运输经营许可证", "货运资质", "办运输证"],
     law="《中华人民共和国道路运输条例》第二十一条、第二十四条；《道路货物运输及站场管理规定》（交通运输部令2023年第12号）第六条",
     cond="有与其经营业务相适应并经检测合格的车辆（总质量4.5吨以上）；有符合规定条件的驾驶人员；有健全的安全生产管理制度。",
     mats=[BIZ_LICENSE, mat("freight_application", "道路货物运输经营申请表", "Freight transport application form", template=True),
           mat("vehicle_list", "拟投入车辆承诺书", "Commitment on the vehicles to be used", template=True),
           mat("safety_rules", "安全生产管理制度文本", "Safety management rules")],
     steps=["在“示范政务”小程序提交申请和材料。",
            "交通运输部门审查，自受理之日起20日内作出许可决定。",
            "准予许可的核发道路运输经营许可证，车辆投入运营前配发道路运输证。"],
     limit=(20, 5), fee=None, halls=["transport", "yunling_center"], audience="enterprise",
     result=("道路运输经营许可证", "Road transport business licence"), post=True,
     form_fields=[field("vehicles", "拟投入车辆数", "Number of vehicles", kind="integer", minimum=1)],
     form_base="company", depth="online_application")

# =============================================================================================
# 生态环境
# =============================================================================================
item("ST-0001", ("排污许可证核发", "Pollutant discharge permit"), "shengtai", ["environment"],
     ["排污许可", "排污证", "办排污许可证", "排污许可证申请"],
     law="《排污许可管理条例》第二条、第七条、第十一条、第十三条；《固定污染源排污许可分类管理名录（2019年版）》",
     cond="纳入固定污染源排污许可分类管理名录实行重点管理或简化管理的排污单位，在排放污染物前申请取得排污许可证。",
     mats=[mat("discharge_application", "排污许可证申请表", "Discharge permit application form", template=True),
           mat("self_monitoring", "自行监测方案", "Self-monitoring plan"),
           mat("eia_approval", "环境影响评价审批文件", "EIA approval", ooc="copy", fmt="依法需要取得的提交"),
           BIZ_LICENSE],
     steps=["在全国排污许可证管理信息平台填报申请表，并在平台公开5日。",
            "公开期满后提交申请，生态环境部门对材料进行审查。",
            "实行重点管理的排污单位必要时进行现场核查。",
            "自受理之日起20日内作出许可决定，核发排污许可证。"],
     limit=(20, 15), fee=None, halls=["environment"], audience="enterprise",
     result=("排污许可证", "Pollutant discharge permit"), post=True,
     form_fields=[field("management", "管理类别", "Management level", enum=["重点管理", "简化管理"])],
     form_base="company", depth="online_application")

item("ST-0002", ("建设项目环境影响报告表审批", "Approval of a project's environmental impact report form"), "shengtai",
     ["environment", "construction"], ["环评审批", "环评", "环境影响评价", "环评报告表审批"],
     law="《中华人民共和国环境影响评价法》第十六条、第二十二条；《建设项目环境保护管理条例》第九条",
     cond="依据《建设项目环境影响评价分类管理名录》应当编制环境影响报告表的建设项目，在开工建设前报批。",
     mats=[mat("eia_report", "建设项目环境影响报告表", "Environmental impact report form", template=True,
               fmt="按《建设项目环境影响报告表》格式编制", fmt_en="In the national format"),
           mat("eia_application", "建设项目环境影响评价文件报批申请书", "Application for EIA approval", template=True),
           BIZ_LICENSE],
     steps=["建设单位在“示范政务”小程序提交报告表及申请书。",
            "生态环境部门受理后组织技术评估，并公示受理信息。",
            "自受理之日起30日内作出审批决定（承诺15个工作日），审批前公示拟审批意见。",
            "作出批复并公开。"],
     limit=(30, 15), fee=None, halls=["environment"], audience="enterprise",
     result=("建设项目环境影响报告表批复", "Approval of the environmental impact report form"), post=True,
     form_fields=[field("project_name", "项目名称", "Project name", maxLength=100),
                  field("investment_wan", "总投资（万元）", "Total investment (10,000 yuan)", kind="number", minimum=0)],
     form_base="company", depth="online_application")

# =============================================================================================
# 住房城乡建设
# =============================================================================================
item("ZJ-0001", ("公共租赁住房申请", "Application for public rental housing"), "zhujian", ["housing", "social_assistance"],
     ["公租房", "申请公租房", "廉租房", "保障房", "公租房申请"],
     law="《公共租赁住房管理办法》（住房和城乡建设部令第11号）第七条、第九条、第十条",
     cond="在本市无住房或住房面积低于规定标准，收入、财产低于规定标准的城镇中等偏下收入住房困难家庭、新就业无房职工和在本市稳定就业的外来务工人员。",
     mats=[ID_CARD, HUKOU, mat("income_proof", "家庭收入证明", "Proof of household income", ooc="copy"),
           mat("housing_application", "公共租赁住房申请表", "Public rental housing application form", template=True),
           opt(MARRIAGE_CERT)],
     steps=["在“示范政务”小程序提交申请，系统自动核查住房、收入、社保等信息。",
            "街道（乡镇）初审，区住房保障部门复审。",
            "审核结果公示10日，无异议的登记为轮候对象。",
            "按轮候顺序配租，签订租赁合同后入住。"],
     limit=(30, 20), fee=None, halls=["construction", "nanjiang_center"],
     result=("公共租赁住房资格确认通知书", "Notice of eligibility for public rental housing"), post=True,
     form_fields=[field("members", "家庭人数", "Household size", kind="integer", minimum=1),
                  field("current_area_sqm", "现住房面积（平方米）", "Current floor area (m²)", kind="number", minimum=0)],
     depth="online_application")

item("ZJ-0002", ("建筑工程施工许可证核发", "Construction permit for building works"), "zhujian", ["construction"],
     ["施工许可证", "施工许可", "开工许可", "办施工证"],
     law="《中华人民共和国建筑法》第七条、第八条；《建筑工程施工许可管理办法》（住房和城乡建设部令第18号）第四条、第五条",
     cond="已办理用地批准手续；已取得建设工程规划许可证；施工场地已基本具备施工条件；已确定施工企业；有满足施工需要的技术资料和保证工程质量安全的措施；建设资金已落实。",
     mats=[mat("construction_application", "建筑工程施工许可申请表", "Construction permit application form", template=True),
           mat("planning_permit", "建设工程规划许可证", "Construction planning permit"),
           mat("contract_award", "施工合同", "Construction contract", ooc="copy"),
           mat("funding_commitment", "建设资金已落实承诺书", "Commitment that funding is in place", template=True)],
     steps=["建设单位通过工程建设项目审批管理系统在线申请。",
            "住房城乡建设部门审查，对符合条件的自收到申请之日起7日内颁发施工许可证。",
            "核发电子施工许可证，建设单位在施工现场公示。"],
     limit=(7, 3), fee=None, halls=["construction"], audience="enterprise",
     result=("建筑工程施工许可证", "Construction permit"), post="电子证照，现场公示二维码即可",
     form_fields=[field("project_name", "工程名称", "Project name", maxLength=100),
                  field("contract_price_wan", "合同价格（万元）", "Contract price (10,000 yuan)", kind="number", minimum=0)],
     form_base="company", depth="whole_process_online")

item("ZJ-0003", ("商品房预售许可", "Pre-sale permit for commercial housing"), "zhujian", ["construction", "housing"],
     ["预售证", "商品房预售许可证", "期房预售许可", "预售许可证"],
     law="《中华人民共和国城市房地产管理法》第四十五条；《城市商品房预售管理办法》第五条、第六条、第七条",
     cond="已交付全部土地使用权出让金，取得土地使用权证书；持有建设工程规划许可证和施工许可证；投入开发建设的资金达到工程建设总投资的25%以上，并已确定施工进度和竣工交付日期。",
     mats=[mat("presale_application", "商品房预售许可申请表", "Pre-sale permit application form", template=True),
           mat("land_cert", "不动产权证书（土地）", "Land title certificate"),
           mat("presale_plan", "商品房预售方案", "Pre-sale plan"),
           mat("investment_proof", "工程投资达到25%的证明", "Proof that 25% of the investment is made")],
     steps=["开发企业在线提交预售许可申请和预售方案。",
            "住房城乡建设部门审查材料并现场查勘工程形象进度。",
            "自受理之日起10日内作出决定，准予的核发商品房预售许可证。",
            "预售许可信息在房地产交易平台公开。"],
     limit=(10, 5), fee=None, halls=["construction"], audience="enterprise",
     result=("商品房预售许可证", "Pre-sale permit"), post=True,
     form_fields=[field("project_name", "项目名称", "Project name", maxLength=100),
                  field("units", "预售套数", "Number of units", kind="integer", minimum=1)],
     form_base="company", depth="online_application")

item("ZJ-0004", ("商品房买卖合同网签备案", "Online signing and filing of home purchase contracts"), "zhujian", ["housing"],
     ["网签", "购房合同备案", "合同备案", "网签备案", "买房网签"],
     law="《中华人民共和国城市房地产管理法》第四十五条；《城市商品房预售管理办法》第十条",
     cond="商品房预售、销售及存量房买卖，交易双方已协商一致签订买卖合同。",
     mats=[mat("buyer_seller_ids", "买卖双方身份证明", "Identity documents of buyer and seller"),
           mat("sale_contract", "房屋买卖合同", "Purchase contract")],
     steps=["开发企业或经纪机构在房地产交易网签系统录入合同，买卖双方在线核对。",
            "双方通过人脸识别完成电子签名，系统自动备案。",
            "生成合同备案编号，可用于贷款、公积金提取和不动产登记。"],
     limit=(1, 0), fee=None, halls=["construction"], audience="both",
     result=("商品房买卖合同备案证明", "Contract filing certificate"), result_sample=False,
     post="电子备案证明在线下载",
     form_fields=[field("contract_no", "合同编号", "Contract number", maxLength=40)], depth="whole_process_online")

# =============================================================================================
# 退役军人、文化旅游
# =============================================================================================
item("TY-0001", ("退役军人优待证申领", "Preferential treatment card for veterans"), "tuiyi", ["veteran"],
     ["优待证", "退役军人优待证", "军人优待证", "办优待证"],
     law="《中华人民共和国退役军人保障法》第六十二条；《退役军人、其他优抚对象优待证管理办法（试行）》（退役军人部发〔2021〕9号）",
     cond="户籍在本市、已在退役军人事务部门采集信息的退役军人和其他优抚对象。",
     mats=[ID_CARD, PHOTO, mat("discharge_cert", "退役证明", "Proof of discharge", ooc="copy", fmt="已采集信息的免于提交")],
     steps=["在“示范政务”小程序或退役军人服务站提交申请，上传照片。",
            "县级退役军人事务部门核对采集信息，审核通过后送制卡。",
            "优待证制作完成后由退役军人服务站通知领取，或邮寄到家。"],
     limit=(30, 20), fee=None, halls=["veterans"],
     result=("中华人民共和国退役军人优待证", "Veterans' preferential treatment card"), post=True,
     form_fields=[field("service_years", "服役年限", "Years of service", kind="integer", minimum=0)],
     depth="online_application")

item("TY-0002", ("退役士兵自主就业一次性经济补助金发放", "One-off grant for self-employed discharged soldiers"), "tuiyi",
     ["veteran", "employment"], ["退役补助", "退役金", "自主就业补助", "退伍费"],
     law="《中华人民共和国退役军人保障法》第三十条、第三十四条；《退役士兵安置条例》第十九条",
     cond="选择自主就业的退役士兵，在规定时间内到安置地退役军人事务部门报到。",
     mats=[ID_CARD, mat("discharge_cert", "退出现役证", "Discharge certificate"), BANK_CARD],
     steps=["退役士兵在规定时间内到安置地退役军人事务局报到。",
            "退役军人事务部门审核自主就业资格和服役年限。",
            "按标准核定一次性经济补助金，30日内发放到本人账户。"],
     limit=(30, 20), fee=None, halls=["veterans"],
     result=("一次性经济补助金核定通知", "Notice of the grant"), post=True,
     form_fields=[field("service_years", "服役年限", "Years of service", kind="integer", minimum=0)])

item("WG-0001", ("旅行社业务经营许可", "Licence to operate a travel agency"), "wenguang", ["business"],
     ["开旅行社", "旅行社许可证", "旅行社经营许可", "旅行社设立"],
     law="《旅行社条例》第六条、第七条；《旅行社条例实施细则》第八条",
     cond="取得企业法人资格，注册资本不少于30万元；有必要的经营场所和营业设施；已按规定交存旅行社质量保证金或购买保证金履约保险。",
     mats=[mat("agency_application", "旅行社设立申请书", "Travel agency application", template=True), BIZ_LICENSE,
           mat("deposit_proof", "旅行社质量保证金交存证明或保险保单", "Proof of quality deposit or guarantee insurance"),
           mat("premises_proof", "经营场所证明", "Proof of premises", ooc="copy")],
     steps=["在“示范政务”小程序提交设立申请。",
            "文化广电旅游部门审查材料，必要时实地核查经营场所。",
            "自受理之日起20个工作日内作出决定，准予的颁发旅行社业务经营许可证。"],
     limit=(20, 10), fee=None, halls=["culture"], audience="enterprise",
     result=("旅行社业务经营许可证", "Travel agency licence"), post=True,
     form_fields=[field("agency_name", "旅行社名称", "Agency name", maxLength=100)],
     form_base="company", depth="online_application")

item("WG-0002", ("娱乐场所经营许可", "Licence to operate an entertainment venue"), "wenguang", ["business"],
     ["KTV许可证", "娱乐场所许可证", "开KTV", "歌舞娱乐许可"],
     law="《娱乐场所管理条例》第九条、第十一条；《娱乐场所管理办法》（文化和旅游部令第2号修订）第八条",
     cond="已取得营业执照；场所位置、建筑面积、设施设备符合规定；不在居民住宅楼、学校周边等禁止区域内。",
     mats=[mat("venue_application", "娱乐场所经营许可申请表", "Entertainment venue licence application", template=True),
           BIZ_LICENSE, mat("venue_plan", "经营场所平面示意图", "Floor plan", sample=True),
           mat("fire_safety", "消防安全检查合格意见或告知承诺书", "Fire safety approval or commitment", template=True)],
     steps=["在“示范政务”小程序提交申请。",
            "文化广电旅游部门自受理之日起20日内进行实地检查，并组织听证（涉及周边居民的）。",
            "符合条件的颁发娱乐场所经营许可证。"],
     limit=(20, 15), fee=None, halls=["culture"], audience="enterprise",
     result=("娱乐场所经营许可证", "Entertainment venue licence"), post=True,
     form_fields=[field("venue_type", "场所类型", "Venue type", enum=["歌舞娱乐场所", "游艺娱乐场所"]),
                  field("area_sqm", "营业面积（平方米）", "Floor area (m²)", kind="number", minimum=0)],
     form_base="company", depth="online_application")

# ---- an intentionally incomplete draft: shows the publish gate and a hidden empty department ----
DRAFTS.append({
    "code": "MZ-9001",
    "name": L("宗教活动场所设立审批", "Approval of a venue for religious activities"),
    "aliases": [],
    "department": "minzong",
    "region_code": "330100",
    "audience": ["enterprise"],
    "themes": [],
    "handling_depth": "info_only",
    "guide": {
        "legal_basis": L("相关法规"),
        "conditions": L("符合有关规定。"),
        "materials": [{"key": "forms", "name": L("相关表格"), "original_or_copy": "original", "copies": 1,
                       "medium": "paper", "required": True}],
        "process": [L("申请-审核-核准-发照")],
        "locations": [],
        "result": {"name": L("批准文件")},
    },
})


# =============================================================================================
def build() -> dict[str, Any]:
    return {
        "city": {"code": "330100", "name": L("示范市", "Shifan City")},
        "regions": [{"code": c, "name": L(zh, en), "level": lvl, "parent": parent}
                    for c, zh, en, lvl, parent in REGIONS],
        "departments": [{"code": c, "name": L(zh, en), "keywords": kw, "consultation_phone": phone, "order": i}
                        for i, (c, zh, en, phone, kw) in enumerate(DEPARTMENTS)],
        "themes": [{"code": c, "name": L(zh, en), "keywords": kw, "order": i}
                   for i, (c, zh, en, kw) in enumerate(THEMES)],
        "items": ITEMS,
        "drafts": DRAFTS,
    }


def check(data: dict[str, Any]) -> list[str]:
    from models.catalogue import guide_problems, misfiling_problems
    departments = {d["code"]: d for d in data["departments"]}
    themes = {t["code"]: t for t in data["themes"]}
    regions = {r["code"] for r in data["regions"]}
    failures, codes = [], set()
    for it in data["items"]:
        if it["code"] in codes:
            failures.append(f"{it['code']}: duplicate code")
        codes.add(it["code"])
        failures += [f"{it['code']}: {p.field} {p.code} {p.zh}" for p in guide_problems(it)]
        failures += [f"{it['code']}: misfiled {p}" for p in misfiling_problems(it, departments, themes)]
        if it["region_code"] not in regions:
            failures.append(f"{it['code']}: unknown region {it['region_code']}")
    for draft in data["drafts"]:
        if not guide_problems(draft):
            failures.append(f"{draft['code']}: the demo draft is meant to fail the publish gate")
    return failures


def main() -> int:
    data = build()
    failures = check(data)
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    depts = {i["department"] for i in data["items"]}
    print(f"wrote {OUT.relative_to(ROOT)}: {len(data['items'])} items, {len(depts)} departments with items, "
          f"{len(data['departments'])} departments, {len(data['themes'])} themes, {len(data['drafts'])} drafts")
    for failure in failures:
        print("  FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
