//! Every text the console shows, in one place, Chinese first.
//!
//! Why constants and not a translation framework: the console has one language today and
//! a few hundred strings; constants are checked by the compiler (a missing label does not
//! build) and found by grep. A second language becomes a second module with the same
//! names, chosen per request.

use wangge_core::{CaseStatus, Role};

/// The console's name, in the title bar.
pub const CONSOLE: &str = "网格化管理平台";

// ---- Navigation -------------------------------------------------------------------------
/// Queues.
pub const NAV_QUEUES: &str = "案件队列";
/// Intake desk.
pub const NAV_INTAKE: &str = "受理登记";
/// Map.
pub const NAV_MAP: &str = "网格地图";
/// Zero-report board.
pub const NAV_BOARD: &str = "零报告";
/// Evaluation.
pub const NAV_EVALUATION: &str = "考核评价";
/// Devices and pairing (administrators).
pub const NAV_DEVICES: &str = "终端配对";
/// Log out.
pub const LOG_OUT: &str = "退出登录";

// ---- Login ------------------------------------------------------------------------------
/// Login page title.
pub const LOGIN_TITLE: &str = "登录";
/// Username field.
pub const USERNAME: &str = "用户名";
/// Password field.
pub const PASSWORD: &str = "密码";
/// Login button.
pub const LOG_IN: &str = "登录";
/// Wrong username or password.
pub const LOGIN_FAILED: &str = "用户名或密码错误";
/// Too many attempts; the number of minutes follows.
pub const LOGIN_LOCKED: &str = "尝试次数过多，请稍后再试（分钟）：";
/// Session ended.
pub const SESSION_ENDED: &str = "登录已过期，请重新登录";

// ---- Errors -----------------------------------------------------------------------------
/// Error page title.
pub const ERROR_TITLE: &str = "操作未完成";
/// Link back.
pub const BACK: &str = "返回";

// ---- Queues -----------------------------------------------------------------------------
/// Queue: to register.
pub const QUEUE_TO_REGISTER: &str = "待立案";
/// Queue: in progress by unit.
pub const QUEUE_IN_PROGRESS: &str = "处置中";
/// Queue: due within 30 minutes.
pub const QUEUE_DUE_SOON: &str = "30分钟内到期";
/// Queue: overdue.
pub const QUEUE_OVERDUE: &str = "已超时";
/// Queue: escalated to the district.
pub const QUEUE_ESCALATED: &str = "已上报区级";
/// Queue: handed back by a unit.
pub const QUEUE_HANDED_BACK: &str = "被退回";
/// Queue: awaiting verification.
pub const QUEUE_TO_VERIFY: &str = "待核查";
/// Queue: all cases (a search).
pub const QUEUE_ALL: &str = "全部案件";
/// Queue: my unit's cases.
pub const QUEUE_MY_UNIT: &str = "本单位案件";
/// Column: case number.
pub const COL_NUMBER: &str = "案件编号";
/// Column: reported at.
pub const COL_REPORTED: &str = "上报时间";
/// Column: item.
pub const COL_ITEM: &str = "问题类别";
/// Column: place.
pub const COL_PLACE: &str = "网格";
/// Column: status.
pub const COL_STATUS: &str = "状态";
/// Column: holder.
pub const COL_HOLDER: &str = "当前处置单位";
/// Column: time left.
pub const COL_TIME_LEFT: &str = "剩余时间";
/// Column: channel.
pub const COL_CHANNEL: &str = "来源";
/// Not registered yet (no number).
pub const NO_NUMBER: &str = "未立案";
/// No cases.
pub const EMPTY_QUEUE: &str = "没有案件";
/// Next page.
pub const NEXT_PAGE: &str = "下一页";
/// Late.
pub const LATE: &str = "超时";
/// Search button.
pub const SEARCH: &str = "查询";
/// Text search field.
pub const SEARCH_TEXT: &str = "描述关键词";
/// Unit picker.
pub const UNIT: &str = "单位";
/// Any (filter option).
pub const ANY: &str = "全部";

// ---- Case page ---------------------------------------------------------------------------
/// Timeline heading.
pub const TIMELINE: &str = "处置过程";
/// Photos heading.
pub const PHOTOS: &str = "照片";
/// Actions heading.
pub const ACTIONS: &str = "可执行操作";
/// Description.
pub const DESCRIPTION: &str = "问题描述";
/// Address.
pub const ADDRESS: &str = "地址";
/// Deadlines.
pub const DEADLINES: &str = "时限";
/// Who.
pub const WHO: &str = "操作人";
/// Role.
pub const ROLE: &str = "角色";
/// Device.
pub const DEVICE: &str = "终端";
/// When.
pub const WHEN: &str = "时间";
/// What.
pub const WHAT: &str = "操作";
/// Console device.
pub const CONSOLE_DEVICE: &str = "平台";
/// Note / reason field.
pub const NOTE: &str = "说明";
/// Lead unit.
pub const LEAD_UNIT: &str = "牵头单位";
/// Assisting units.
pub const ASSISTING_UNITS: &str = "协办单位";
/// Evidence warning heading.
pub const EVIDENCE_WARNINGS: &str = "证据提示";
/// Duplicate hints heading.
pub const DUPLICATE_HINTS: &str = "可能重复的案件";
/// Position.
pub const POSITION: &str = "位置";

/// The action buttons, by event type.
pub fn action(kind: &str) -> &'static str {
    match kind {
        "register" => "立案",
        "rejected" => "不予立案",
        "dispatched" => "派遣",
        "withdrawn" => "撤回派遣",
        "released" => "解除协办",
        "arrived" => "到场/受理",
        "feedback" => "处置反馈",
        "handed_back" => "退回",
        "verified_pass" => "核查通过",
        "verified_fail" => "核查不通过",
        "closed" => "结案",
        "reopened" => "重新打开",
        "escalated" => "提交区级平台",
        "comment" => "备注",
        "merge" => "合并",
        "intake" => "已受理",
        _ => "操作",
    }
}

/// What an event of the timeline was, by its type.
pub fn event(kind: &str) -> &'static str {
    match kind {
        "reported" => "上报",
        "registered" => "立案",
        "rejected" => "不予立案",
        "dispatched" => "派遣",
        "arrived" => "到场/受理",
        "handled_on_spot" => "现场处置",
        "feedback" => "处置反馈",
        "verified" => "核查",
        "closed" => "结案",
        "reopened" => "重新打开",
        "escalated" => "提交区级平台",
        "released" => "解除协办",
        "withdrawn" => "撤回派遣",
        "handed_back" => "退回",
        "merged_into" => "合并至",
        "merged_from" => "合并自",
        "comment" => "备注",
        _ => "事件",
    }
}

// ---- Intake ------------------------------------------------------------------------------
/// Intake page title.
pub const INTAKE_TITLE: &str = "受理登记";
/// Channel.
pub const CHANNEL: &str = "来源渠道";
/// The channel's reference.
pub const REFERENCE: &str = "渠道工单号";
/// Checklist item.
pub const ITEM: &str = "问题类别（清单事项）";
/// Latitude.
pub const LATITUDE: &str = "纬度";
/// Longitude.
pub const LONGITUDE: &str = "经度";
/// Pick on the map.
pub const PICK_ON_MAP: &str = "在地图上点选位置";
/// Grid (when the position is ambiguous).
pub const GRID: &str = "网格";
/// Reporter's name.
pub const REPORTER_NAME: &str = "反映人";
/// Reporter's phone.
pub const REPORTER_PHONE: &str = "联系电话";
/// Save.
pub const SAVE: &str = "保存";
/// Check for duplicates.
pub const CHECK_DUPLICATES: &str = "查重";
/// Saved.
pub const SAVED: &str = "已受理";

/// A status, as people at the centre say it.
pub fn status(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Reported => "待立案",
        CaseStatus::Registered => "已立案",
        CaseStatus::Rejected => "不予立案",
        CaseStatus::Dispatched => "已派遣",
        CaseStatus::InProgress => "处置中",
        CaseStatus::Handled => "已处置",
        CaseStatus::Verified => "已核查",
        CaseStatus::Closed => "已结案",
        CaseStatus::Merged => "已合并",
    }
}

/// A role, as people at the centre say it.
pub fn role(r: Role) -> &'static str {
    match r {
        Role::GridOfficer => "网格巡查员",
        Role::StreetOfficial => "街道公务人员",
        Role::WorkstationStaff => "居民区工作站",
        Role::Centre => "管理中心",
        Role::HandlingUnit => "处置单位",
        Role::Supervisor => "督察",
    }
}

// ---- Devices and pairing ---------------------------------------------------------------------
/// Devices page title.
pub const DEVICES_TITLE: &str = "终端与配对";
/// New pairing code heading.
pub const NEW_PAIRING_CODE: &str = "生成配对码";
/// What a pairing code is for.
pub const PAIRING_HINT: &str = "为一名人员的手机生成一次性配对码：手机在“配对”页输入配对码，或用相机扫描二维码，即获得终端号和令牌，按此人的角色和网格接收案件。";
/// Person field.
pub const PAIR_PERSON: &str = "人员";
/// The person select's empty choice.
pub const CHOOSE_PERSON: &str = "请选择人员…";
/// Device name field.
pub const PAIR_DEVICE_NAME: &str = "终端名称（可不填，默认用手机上报的名称）";
/// Validity field.
pub const PAIR_VALID_MINUTES: &str = "有效时间（分钟，1–1440）";
/// Server address field.
pub const PAIR_SERVER_URL: &str = "手机访问的服务器地址（写入二维码）";
/// Make the code.
pub const PAIR_SUBMIT: &str = "生成配对码";
/// The code just made.
pub const PAIRING_CODE: &str = "配对码";
/// Valid until.
pub const VALID_UNTIL: &str = "有效至";
/// Once only.
pub const PAIRING_ONCE: &str = "仅可使用一次；离开本页后不再显示。";
/// The QR payload.
pub const QR_PAYLOAD: &str = "二维码内容";
/// The device's scope.
pub const SCOPE: &str = "接收范围";
/// The whole street.
pub const SCOPE_ALL: &str = "全街道";
/// Only its own reports.
pub const SCOPE_NONE: &str = "仅本机上报的案件";
/// Pending codes heading.
pub const PENDING_CODES: &str = "未使用的配对码";
/// Column: made at.
pub const COL_MADE: &str = "生成时间";
/// Withdraw a pending code.
pub const WITHDRAW: &str = "作废";
/// Enrolled devices heading.
pub const DEVICES: &str = "已配对终端";
/// No devices.
pub const NO_DEVICES: &str = "尚无终端";
/// Column: device name.
pub const COL_DEVICE_NAME: &str = "终端名称";
/// Column: device id.
pub const COL_DEVICE_ID: &str = "终端号";
/// Column: person.
pub const COL_PERSON: &str = "人员";
/// Column: enrolled.
pub const COL_ENROLLED: &str = "配对时间";
/// In use.
pub const DEVICE_ACTIVE: &str = "使用中";
/// Revoked at.
pub const DEVICE_REVOKED: &str = "已停用";
/// Revoke (opens the confirmation).
pub const REVOKE: &str = "停用…";
/// What revoking does.
pub const REVOKE_HINT: &str = "停用后该终端的令牌立即失效；手机下次联网时清除已交到平台的案件和照片，尚未上报的保留，重新配对后继续上报。";
/// Confirm revoking.
pub const REVOKE_CONFIRM: &str = "确认停用";
/// Device role: centre.
pub const DEVICE_ROLE_CENTRE: &str = "管理中心终端";
/// Device role: field.
pub const DEVICE_ROLE_FIELD: &str = "外勤终端";
/// Inactive person marker.
pub const PERSON_INACTIVE: &str = "（已离岗）";

// ---- Map -----------------------------------------------------------------------------------
/// Map page title.
pub const MAP_TITLE: &str = "网格地图";
/// The map, for screen readers.
pub const MAP_LABEL: &str = "街道网格与案件分布图";
/// Filter: status.
pub const MAP_STATUS: &str = "状态";
/// Filter: open or finished.
pub const MAP_OPEN: &str = "办理情况";
/// Open cases.
pub const MAP_OPEN_ONLY: &str = "未办结";
/// Finished cases.
pub const MAP_FINISHED_ONLY: &str = "已办结";
/// Filter: overdue only.
pub const MAP_OVERDUE_ONLY: &str = "仅超时";
/// Filter: category.
pub const MAP_CATEGORY: &str = "类别";
/// Filter: block.
pub const MAP_BLOCK: &str = "网格块区";
/// Apply the filters.
pub const MAP_APPLY: &str = "筛选";
/// "Showing N": before N.
pub const MAP_SHOWING: &str = "地图显示 ";
/// "… of M": between N and M.
pub const MAP_OF: &str = " 件，共 ";
/// After M.
pub const MAP_CASES: &str = " 件";
/// When the markers are capped.
pub const MAP_CAPPED: &str = "（仅显示时限最紧的案件，请缩小筛选范围）";
/// Cases without a position, before the count.
pub const MAP_UNPLACED: &str = "无位置未显示：";
/// Link to the same cases as a list.
pub const MAP_AS_LIST: &str = "以列表查看";
/// Legend: late.
pub const MAP_LATE: &str = "超时（红圈）";
/// Legend heading.
pub const MAP_LEGEND: &str = "图例";

// ---- Zero-report board -----------------------------------------------------------------------
/// Board page title.
pub const BOARD_TITLE: &str = "零报告";
/// The day picker.
pub const BOARD_DAY: &str = "日期";
/// Show.
pub const BOARD_SHOW: &str = "查看";
/// Column: workstation.
pub const BOARD_WORKSTATION: &str = "居民区工作站";
/// Column: state.
pub const BOARD_STATE: &str = "报送情况";
/// Column: matters.
pub const BOARD_MATTERS: &str = "备案事项";
/// Column: last entry.
pub const BOARD_LAST_ENTRY: &str = "最后报送";
/// Filed, nothing to report.
pub const FILING_NOTHING: &str = "无事报告";
/// Filed with matters.
pub const FILING_MATTERS: &str = "有事项备案";
/// Missing after the cut-off.
pub const FILING_MISSING: &str = "未报送";
/// Not filed, cut-off not passed.
pub const FILING_PENDING: &str = "待报送";
/// The cut-off, before its time.
pub const BOARD_CUTOFF: &str = "报送截止：";
/// History heading.
pub const BOARD_HISTORY: &str = "报送历史";
/// History period: from.
pub const BOARD_FROM: &str = "自";
/// History period: to.
pub const BOARD_TO: &str = "至";
/// A workstation's own history, link text.
pub const BOARD_ITS_HISTORY: &str = "历史";
/// History of one workstation heading, before its name.
pub const BOARD_HISTORY_OF: &str = "报送历史：";
/// Column: day.
pub const BOARD_DATE: &str = "日期";
/// Column: missing days.
pub const BOARD_MISSING_DAYS: &str = "未报送天数";
/// Column: days filed.
pub const BOARD_FILED_DAYS: &str = "已报送天数";
/// Column: matters recorded.
pub const BOARD_MATTER_COUNT: &str = "备案事项数";
/// Recorded by.
pub const BOARD_RECORDED_BY: &str = "记录人";

/// How a workstation-day stands.
pub fn filing(f: crate::office::board::Filing) -> &'static str {
    use crate::office::board::Filing;
    match f {
        Filing::NothingToReport => FILING_NOTHING,
        Filing::Matters => FILING_MATTERS,
        Filing::Missing => FILING_MISSING,
        Filing::Pending => FILING_PENDING,
    }
}

// ---- Evaluation ------------------------------------------------------------------------------
/// Evaluation page title.
pub const EVAL_TITLE: &str = "考核评价";
/// Period: from.
pub const EVAL_FROM: &str = "开始日期";
/// Period: to.
pub const EVAL_TO: &str = "结束日期";
/// Show the period.
pub const EVAL_SHOW: &str = "统计";
/// Preset: this month.
pub const EVAL_THIS_MONTH: &str = "本月";
/// Preset: last month.
pub const EVAL_LAST_MONTH: &str = "上月";
/// Preset: this quarter.
pub const EVAL_THIS_QUARTER: &str = "本季度";
/// Intake total.
pub const EVAL_INTAKE: &str = "受理案件";
/// Accepted (registered, not merged).
pub const EVAL_ACCEPTED: &str = "立案";
/// Closed.
pub const EVAL_CLOSED: &str = "结案";
/// Still open.
pub const EVAL_OPEN: &str = "未办结";
/// Rejected.
pub const EVAL_REJECTED: &str = "不予立案";
/// Closure rate.
pub const EVAL_CLOSURE_RATE: &str = "结案率";
/// The rates' chart.
pub const EVAL_RATES: &str = "结案率与按时率";
/// Resolution on-time rate.
pub const EVAL_ON_TIME: &str = "按时办结率";
/// Response on-time rate.
pub const EVAL_RESPONSE_ON_TIME: &str = "按时响应率";
/// No rate (nothing judged).
pub const EVAL_NO_RATE: &str = "—";
/// Intake by channel heading.
pub const EVAL_BY_CHANNEL: &str = "按来源渠道受理";
/// Intake by category heading.
pub const EVAL_BY_CATEGORY: &str = "按类别受理";
/// Share column.
pub const EVAL_SHARE: &str = "占比";
/// Count column.
pub const EVAL_COUNT: &str = "件数";
/// Units ranked heading.
pub const EVAL_UNITS: &str = "处置单位排名";
/// Rank column.
pub const EVAL_RANK: &str = "名次";
/// Assignments column.
pub const EVAL_ASSIGNMENTS: &str = "派遣";
/// As lead column.
pub const EVAL_LEAD: &str = "牵头";
/// Owing feedback column.
pub const EVAL_OWING: &str = "待反馈";
/// Handed back column.
pub const EVAL_HANDED_BACK: &str = "退回";
/// Median handling time column.
pub const EVAL_MEDIAN_HANDLING: &str = "处置用时中位数";
/// Stuck cases heading.
pub const EVAL_STUCK: &str = "滞留最久的案件";
/// Held by column.
pub const EVAL_HELD_BY: &str = "滞留于";
/// Held for column.
pub const EVAL_HELD_FOR: &str = "滞留时长";
/// Since column.
pub const EVAL_SINCE: &str = "自";
/// Time with each holder heading.
pub const EVAL_HOLDERS: &str = "各环节用时";
/// Cases column.
pub const EVAL_CASES: &str = "案件数";
/// Median time column.
pub const EVAL_MEDIAN: &str = "中位用时";
/// Exports heading.
pub const EVAL_EXPORTS: &str = "导出本期案件";
/// Export as CSV.
pub const EXPORT_CSV: &str = "CSV 表格";
/// Export as GeoJSON.
pub const EXPORT_GEOJSON: &str = "GeoJSON 地图数据";
/// Nothing in the period.
pub const EVAL_EMPTY: &str = "本期没有数据";
/// Share of the three largest categories, before the percentage.
pub const EVAL_TOP3: &str = "前三类别合计占比：";
