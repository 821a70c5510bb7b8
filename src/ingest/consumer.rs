//! Consumer (user-side) exports, recognised only to be refused. A WeChat or
//! Alipay user's own statement looks enough like a bill to be handed over by
//! mistake, but it is the payer's view (收/支, counterparties), not the
//! merchant's: the error says which merchant bill to download instead.

use super::gbk;

const WECHAT: &str = "is a WeChat Pay personal export (微信支付账单明细), a consumer's own statement, not a merchant bill. Download the merchant trade bill instead: 商户平台 (pay.weixin.qq.com) → 交易中心 → 交易账单 (bill type ALL), or the downloadbill API (v3 /v3/bill/tradebill)";
const ALIPAY: &str = "is an Alipay personal export (电子客户回单 / 交易记录明细), a consumer's own statement, not a merchant bill. Download the merchant business detail instead: 商家中心 → 对账中心 → 业务明细 (the .csv.zip), or the API alipay.data.dataservice.bill.downloadurl.query with bill_type=trade";
const EITHER: &str = "is a personal (consumer) export with a 收/支 column, not a merchant bill. Download the merchant bill instead: WeChat Pay 商户平台 交易账单 or the downloadbill API; Alipay 商家中心 业务明细 or alipay.data.dataservice.bill.downloadurl.query (bill_type=trade)";

/// How many lines of the head are looked at: consumer preambles run to
/// about twenty lines before the header.
const LINES: usize = 40;

/// Why this head is a consumer export, or `None` if it is not one. The head
/// may be UTF-8 (WeChat) or GBK (Alipay).
pub fn refusal(head: &[u8]) -> Option<&'static str> {
    let text = gbk::text(head);
    let lines = || text.lines().take(LINES);
    if lines().any(|l| l.contains("微信支付账单明细")) {
        return Some(WECHAT);
    }
    if lines().any(|l| l.contains("电子客户回单") || l.contains("支付宝交易记录明细查询"))
    {
        return Some(ALIPAY);
    }
    let income_or_expense = lines().any(|l| l.split(',').any(|f| f.trim() == "收/支"));
    if income_or_expense {
        return Some(if text.contains("支付宝") {
            ALIPAY
        } else if text.contains("微信") {
            WECHAT
        } else {
            EITHER
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_wechat_personal_exports() {
        let head = "微信支付账单明细,,,,,,,,,,\n微信昵称：[测试],,,,,,,,,,\n----------------------微信支付账单明细列表--------------------,,,,,,,,,,\n交易时间,交易类型,交易对方,商品,收/支,金额(元),支付方式,当前状态,交易单号,商户单号,备注\n";
        assert_eq!(refusal(head.as_bytes()), Some(WECHAT));
    }

    #[test]
    fn recognises_alipay_personal_exports_in_gbk() {
        let text = "导出信息：\n姓名：xx\n------------------------支付宝（中国）网络技术有限公司  电子客户回单------------------------\n交易时间            ,交易分类                ,交易对方     ,收/支                 ,金额\n";
        let (gbk, _, _) = encoding_rs::GB18030.encode(text);
        assert_eq!(refusal(&gbk), Some(ALIPAY));
        let (old, _, _) = encoding_rs::GB18030.encode("支付宝交易记录明细查询\n账号:[x]\n");
        assert_eq!(refusal(&old), Some(ALIPAY));
    }

    #[test]
    fn a_bare_income_expense_column_is_enough() {
        assert_eq!(refusal("时间,收/支,金额\n".as_bytes()), Some(EITHER));
    }

    #[test]
    fn merchant_bills_are_not_consumer_exports() {
        assert_eq!(
            refusal("\u{feff}交易时间,公众账号ID,商户号,微信订单号,商户订单号\n".as_bytes()),
            None
        );
        let (gbk, _, _) =
            encoding_rs::GB18030.encode("#支付宝业务明细查询\n支付宝交易号,商户订单号\n");
        assert_eq!(refusal(&gbk), None);
    }
}
