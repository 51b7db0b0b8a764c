use ledger::{
    allocate, apply_rate, format_cents, parse_amount, AccountKind, Chart, Ledger, LedgerError,
    TransactionDraft,
};

struct Shop {
    ledger: Ledger,
    cash: usize,
    payable: usize,
    tax: usize,
    equity: usize,
    retained: usize,
    sales: usize,
    stock: usize,
}

fn shop() -> Shop {
    let mut chart = Chart::new();
    let cash = chart.open(1000, "Cash").unwrap();
    let payable = chart.open(2000, "Payable").unwrap();
    let tax = chart.open(2100, "Sales tax").unwrap();
    let equity = chart.open(3000, "Owner equity").unwrap();
    let retained = chart.open(3100, "Retained").unwrap();
    let sales = chart.open(4000, "Sales").unwrap();
    let stock = chart.open(5000, "Cost of goods").unwrap();
    Shop {
        ledger: Ledger::new(chart),
        cash,
        payable,
        tax,
        equity,
        retained,
        sales,
        stock,
    }
}

fn cents(text: &str) -> i64 {
    parse_amount(text).unwrap()
}

#[test]
fn sale_with_tax_balances() {
    let mut s = shop();
    let net = cents("200.00");
    let tax = apply_rate(net, 825);
    assert_eq!(tax, 1650);
    let draft = TransactionDraft::new(1, "sale")
        .debit(s.cash, net + tax)
        .credit(s.sales, net)
        .credit(s.tax, tax);
    s.ledger.post(draft).unwrap();
    assert_eq!(format_cents(s.ledger.balance(s.cash).unwrap()), "216.50");
    assert_eq!(s.ledger.balance(s.tax), Ok(1650));
    assert!(s.ledger.trial_balance().is_balanced());
}

#[test]
fn bill_split_across_periods() {
    let mut s = shop();
    let parts = allocate(cents("1,000.00"), 3);
    assert_eq!(parts, vec![33_334, 33_333, 33_333]);
    for (i, part) in parts.iter().enumerate() {
        let draft = TransactionDraft::new(i as u32 + 1, "instalment")
            .debit(s.stock, *part)
            .credit(s.payable, *part);
        s.ledger.post(draft).unwrap();
    }
    assert_eq!(s.ledger.balance(s.payable), Ok(100_000));
    assert_eq!(s.ledger.balance_at(s.payable, 2), Ok(66_667));
    assert_eq!(s.ledger.net_income(2, 3), -66_666);
}

#[test]
fn year_end_close_and_reopen() {
    let mut s = shop();
    let owner = TransactionDraft::new(1, "capital")
        .debit(s.cash, 50_000)
        .credit(s.equity, 50_000);
    s.ledger.post(owner).unwrap();
    let sale = TransactionDraft::new(1, "sale")
        .debit(s.cash, 12_000)
        .credit(s.sales, 12_000);
    s.ledger.post(sale).unwrap();
    let cost = TransactionDraft::new(1, "cost")
        .debit(s.stock, 7_000)
        .credit(s.cash, 7_000);
    s.ledger.post(cost).unwrap();

    assert!(s.ledger.close_period(1, s.retained).unwrap().is_some());
    assert_eq!(s.ledger.balance(s.retained), Ok(5_000));
    assert_eq!(s.ledger.balance(s.sales), Ok(0));
    assert_eq!(s.ledger.balance(s.cash), Ok(55_000));

    let tb = s.ledger.trial_balance();
    assert_eq!(tb.rows.len(), 3);
    assert_eq!(tb.total_debits, 55_000);
    assert!(tb.is_balanced());

    let next = TransactionDraft::new(2, "sale")
        .debit(s.cash, 1_000)
        .credit(s.sales, 1_000);
    assert_eq!(s.ledger.post(next), Ok(4));
}

#[test]
fn closed_period_requires_reversal_instead_of_void() {
    let mut s = shop();
    let wrong = TransactionDraft::new(1, "typo")
        .debit(s.stock, 999)
        .credit(s.cash, 999);
    let id = s.ledger.post(wrong).unwrap();
    s.ledger.close_period(1, s.retained).unwrap();
    assert_eq!(
        s.ledger.void(id),
        Err(LedgerError::PeriodClosed {
            period: 1,
            closed_through: 1
        })
    );
    s.ledger.reverse(id, 2).unwrap();
    assert_eq!(s.ledger.balance(s.cash), Ok(0));
    assert_eq!(s.ledger.balance(s.retained), Ok(-999));
    assert_eq!(s.ledger.net_income(2, 2), 999);
}

#[test]
fn chart_kinds_come_from_codes() {
    let s = shop();
    let chart = s.ledger.chart();
    assert_eq!(
        chart.accounts_of_kind(AccountKind::Liability),
        vec![s.payable, s.tax]
    );
    assert_eq!(
        chart.accounts_of_kind(AccountKind::Equity),
        vec![s.equity, s.retained]
    );
    assert_eq!(chart.get(s.stock).unwrap().kind, AccountKind::Expense);
}
