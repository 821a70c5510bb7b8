//! The ZM record layout: 42 fixed-width fields, each followed by one space
//! except the last, 607 bytes in all (then CRLF). Widths are UnionPay's (the
//! `parseZMFile` array of its merchant demo kit, matching its sample file);
//! names are the spec's, so errors name the field the way UnionPay's
//! documents do. Widths count bytes: GBK text (二级商户简称) takes two per
//! character.

pub const WIDTHS: [usize; 42] = [
    3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1, 21,
    15, 1, 15, 32, 13, 13, 8, 32, 13, 13, 12, 2, 1, 32, 98,
];

pub const NAMES: [&str; 42] = [
    "交易代码",
    "代理机构标识码",
    "发送机构标识码",
    "系统跟踪号",
    "交易传输时间",
    "帐号",
    "交易金额",
    "商户类别",
    "终端类型",
    "查询流水号",
    "支付方式(旧)",
    "商户订单号",
    "支付卡类型",
    "原始交易的系统跟踪号",
    "原始交易日期时间",
    "商户手续费",
    "结算金额",
    "支付方式",
    "集团商户代码",
    "交易类型",
    "交易子类",
    "业务类型",
    "帐号类型",
    "账单类型",
    "账单号码",
    "交互方式",
    "原交易查询流水号",
    "商户代码",
    "分账入账方式",
    "二级商户代码",
    "二级商户简称",
    "二级商户分账入账金额",
    "清算净额",
    "终端号",
    "商户自定义域",
    "优惠金额",
    "发票金额",
    "分期付款附加手续费",
    "分期付款期数",
    "交易介质",
    "原始交易订单号",
    "保留使用",
];

/// A field by its number in the spec (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field(pub usize);

pub const TIME: Field = Field(5);
pub const AMOUNT: Field = Field(7);
pub const QUERY_ID: Field = Field(10);
pub const ORDER_ID: Field = Field(12);
pub const FEE: Field = Field(16);
pub const TXN_TYPE: Field = Field(20);
pub const ORIGINAL_QUERY_ID: Field = Field(27);
pub const ORIGINAL_ORDER_ID: Field = Field(41);

pub const RECORD_LEN: usize = 607;

/// Byte offset of each field.
const STARTS: [usize; 42] = {
    let mut starts = [0; 42];
    let mut i = 1;
    while i < 42 {
        starts[i] = starts[i - 1] + WIDTHS[i - 1] + 1;
        i += 1;
    }
    starts
};

const _: () = assert!(STARTS[41] + WIDTHS[41] == RECORD_LEN);

impl Field {
    pub fn name(self) -> &'static str {
        NAMES[self.0 - 1]
    }

    pub fn start(self) -> usize {
        STARTS[self.0 - 1]
    }

    fn end(self) -> usize {
        self.start() + WIDTHS[self.0 - 1]
    }

    /// The field's bytes, padding included, in a record that [`fits`].
    pub fn of(self, record: &[u8]) -> &[u8] {
        &record[self.start()..self.end()]
    }
}

/// Is `record` a ZM record: the right length, a space after every field?
pub fn fits(record: &[u8]) -> bool {
    record.len() == RECORD_LEN && (1..42).all(|n| record[Field(n).end()] == b' ')
}

/// Where a record that does not [`fit`](fits) goes wrong: the first field
/// that is cut off or not followed by its space, else (a record too long)
/// the last.
pub fn broken_field(record: &[u8]) -> Field {
    (1..42)
        .map(Field)
        .find(|f| record.get(f.end()) != Some(&b' '))
        .unwrap_or(Field(42))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_match_the_spec() {
        assert_eq!(AMOUNT.start(), 66);
        assert_eq!(QUERY_ID.start(), 87);
        assert_eq!(ORDER_ID.start(), 112);
        assert_eq!(Field(42).start(), 509);
        assert_eq!(TXN_TYPE.name(), "交易类型");
    }
}
