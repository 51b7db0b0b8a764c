//! Account kinds and the chart of accounts.

use crate::error::LedgerError;

/// Index of an account in its [`Chart`].
pub type AccountId = usize;

/// The five classic account kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountKind {
    Asset,
    Liability,
    Equity,
    Income,
    Expense,
}

/// The side of a posting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Debit,
    Credit,
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Debit => Side::Credit,
            Side::Credit => Side::Debit,
        }
    }
}

impl AccountKind {
    /// Kind implied by an account code: 1000-1999 assets, 2000-2999 liabilities,
    /// 3000-3999 equity, 4000-4999 income, 5000-9999 expenses.
    pub fn from_code(code: u32) -> Option<AccountKind> {
        match code {
            1000..=1999 => Some(AccountKind::Asset),
            2000..=2999 => Some(AccountKind::Liability),
            3000..=3999 => Some(AccountKind::Equity),
            4000..=4999 => Some(AccountKind::Income),
            5000..=9999 => Some(AccountKind::Expense),
            _ => None,
        }
    }

    /// The side on which the account's balance normally sits.
    pub fn normal_side(self) -> Side {
        match self {
            AccountKind::Asset | AccountKind::Expense => Side::Debit,
            AccountKind::Liability | AccountKind::Equity | AccountKind::Income => Side::Credit,
        }
    }

    /// Assets, liabilities and equity appear on the balance sheet; income and expenses
    /// are temporary accounts closed into equity at period end.
    pub fn is_balance_sheet(self) -> bool {
        matches!(
            self,
            AccountKind::Asset | AccountKind::Liability | AccountKind::Equity
        )
    }

    /// Converts a raw debit-positive balance into this kind's natural sign.
    pub fn natural_balance(self, raw: i64) -> i64 {
        match self.normal_side() {
            Side::Debit => raw,
            Side::Credit => -raw,
        }
    }
}

/// One account in the chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub code: u32,
    pub name: String,
    pub kind: AccountKind,
    pub open: bool,
}

/// The chart of accounts: every account the ledger knows about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chart {
    accounts: Vec<Account>,
}

impl Chart {
    pub fn new() -> Self {
        Chart::default()
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Opens an account; its kind follows from the code. Names are trimmed.
    pub fn open(&mut self, code: u32, name: &str) -> Result<AccountId, LedgerError> {
        let kind = AccountKind::from_code(code).ok_or(LedgerError::InvalidCode(code))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(LedgerError::EmptyName);
        }
        if self.find_by_code(code).is_some() {
            return Err(LedgerError::DuplicateCode(code));
        }
        let id = self.accounts.len();
        self.accounts.push(Account {
            id,
            code,
            name: name.to_string(),
            kind,
            open: true,
        });
        Ok(id)
    }

    pub fn get(&self, id: AccountId) -> Result<&Account, LedgerError> {
        self.accounts.get(id).ok_or(LedgerError::UnknownAccount(id))
    }

    /// Fails unless the account exists and is open.
    pub fn require_open(&self, id: AccountId) -> Result<&Account, LedgerError> {
        let account = self.get(id)?;
        if !account.open {
            return Err(LedgerError::AccountClosed(id));
        }
        Ok(account)
    }

    pub fn find_by_code(&self, code: u32) -> Option<AccountId> {
        self.accounts.iter().find(|a| a.code == code).map(|a| a.id)
    }

    /// Case-insensitive lookup by (trimmed) name.
    pub fn find_by_name(&self, name: &str) -> Option<AccountId> {
        let wanted = name.trim().to_lowercase();
        self.accounts
            .iter()
            .find(|a| a.name.to_lowercase() == wanted)
            .map(|a| a.id)
    }

    /// Marks an account closed; closing twice is an error.
    pub fn close(&mut self, id: AccountId) -> Result<(), LedgerError> {
        self.require_open(id)?;
        self.accounts[id].open = false;
        Ok(())
    }

    /// Ids of the accounts of `kind`, ordered by code.
    pub fn accounts_of_kind(&self, kind: AccountKind) -> Vec<AccountId> {
        let mut found: Vec<&Account> = self.accounts.iter().filter(|a| a.kind == kind).collect();
        found.sort_by_key(|a| a.code);
        found.iter().map(|a| a.id).collect()
    }

    /// All accounts ordered by code.
    pub fn by_code(&self) -> Vec<&Account> {
        let mut all: Vec<&Account> = self.accounts.iter().collect();
        all.sort_by_key(|a| a.code);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_from_code_uses_ranges() {
        assert_eq!(AccountKind::from_code(999), None);
        assert_eq!(AccountKind::from_code(1000), Some(AccountKind::Asset));
        assert_eq!(AccountKind::from_code(1999), Some(AccountKind::Asset));
        assert_eq!(AccountKind::from_code(2000), Some(AccountKind::Liability));
        assert_eq!(AccountKind::from_code(3999), Some(AccountKind::Equity));
        assert_eq!(AccountKind::from_code(4000), Some(AccountKind::Income));
        assert_eq!(AccountKind::from_code(5000), Some(AccountKind::Expense));
        assert_eq!(AccountKind::from_code(9999), Some(AccountKind::Expense));
        assert_eq!(AccountKind::from_code(10000), None);
    }

    #[test]
    fn normal_sides_and_natural_sign() {
        assert_eq!(AccountKind::Asset.normal_side(), Side::Debit);
        assert_eq!(AccountKind::Expense.normal_side(), Side::Debit);
        assert_eq!(AccountKind::Income.normal_side(), Side::Credit);
        assert_eq!(AccountKind::Liability.natural_balance(-250), 250);
        assert_eq!(AccountKind::Asset.natural_balance(-250), -250);
        assert_eq!(Side::Debit.opposite(), Side::Credit);
        assert_eq!(Side::Credit.opposite(), Side::Debit);
    }

    #[test]
    fn balance_sheet_kinds() {
        assert!(AccountKind::Asset.is_balance_sheet());
        assert!(AccountKind::Equity.is_balance_sheet());
        assert!(!AccountKind::Income.is_balance_sheet());
        assert!(!AccountKind::Expense.is_balance_sheet());
    }

    #[test]
    fn open_assigns_sequential_ids() {
        let mut chart = Chart::new();
        assert!(chart.is_empty());
        assert_eq!(chart.open(1010, "Cash"), Ok(0));
        assert_eq!(chart.open(4000, "  Sales "), Ok(1));
        assert_eq!(chart.len(), 2);
        let sales = chart.get(1).unwrap();
        assert_eq!(sales.name, "Sales");
        assert_eq!(sales.kind, AccountKind::Income);
        assert!(sales.open);
    }

    #[test]
    fn open_validates_input() {
        let mut chart = Chart::new();
        chart.open(1010, "Cash").unwrap();
        assert_eq!(chart.open(12, "Odd"), Err(LedgerError::InvalidCode(12)));
        assert_eq!(chart.open(1020, "   "), Err(LedgerError::EmptyName));
        assert_eq!(
            chart.open(1010, "Petty cash"),
            Err(LedgerError::DuplicateCode(1010))
        );
        assert_eq!(chart.len(), 1);
    }

    #[test]
    fn lookups_by_code_and_name() {
        let mut chart = Chart::new();
        chart.open(1010, "Cash").unwrap();
        chart.open(2010, "Accounts Payable").unwrap();
        assert_eq!(chart.find_by_code(2010), Some(1));
        assert_eq!(chart.find_by_code(2020), None);
        assert_eq!(chart.find_by_name(" accounts payable"), Some(1));
        assert_eq!(chart.find_by_name("cash"), Some(0));
        assert_eq!(chart.find_by_name("bank"), None);
        assert_eq!(chart.get(7), Err(LedgerError::UnknownAccount(7)));
    }

    #[test]
    fn closing_is_one_way() {
        let mut chart = Chart::new();
        chart.open(1010, "Cash").unwrap();
        assert!(chart.require_open(0).is_ok());
        assert_eq!(chart.close(0), Ok(()));
        assert!(!chart.get(0).unwrap().open);
        assert_eq!(chart.close(0), Err(LedgerError::AccountClosed(0)));
        assert_eq!(chart.require_open(0), Err(LedgerError::AccountClosed(0)));
        assert_eq!(chart.close(3), Err(LedgerError::UnknownAccount(3)));
    }

    #[test]
    fn accounts_are_listed_by_code() {
        let mut chart = Chart::new();
        chart.open(5200, "Rent").unwrap();
        chart.open(1010, "Cash").unwrap();
        chart.open(5100, "Wages").unwrap();
        assert_eq!(chart.accounts_of_kind(AccountKind::Expense), vec![2, 0]);
        assert_eq!(
            chart.accounts_of_kind(AccountKind::Equity),
            Vec::<AccountId>::new()
        );
        let codes: Vec<u32> = chart.by_code().iter().map(|a| a.code).collect();
        assert_eq!(codes, vec![1010, 5100, 5200]);
    }
}
