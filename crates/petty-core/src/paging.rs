//! Page requests and pages of results, bounded so no client can ask for everything at once.

use crate::validation::Invalid;

/// A 1-based page of `page_size` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub page: u32,
    pub page_size: u32,
}

impl PageRequest {
    pub const DEFAULT_SIZE: u32 = 50;
    pub const MAX_SIZE: u32 = 500;

    /// Parses the optional `page` and `page_size` a client sent.
    pub fn parse(page: Option<u32>, page_size: Option<u32>) -> Result<Self, Invalid> {
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(Self::DEFAULT_SIZE);
        if page == 0 {
            return Err(Invalid::one("page", "out_of_range", "page starts at 1"));
        }
        if page_size == 0 || page_size > Self::MAX_SIZE {
            return Err(Invalid::one(
                "page_size",
                "out_of_range",
                format!("page_size must be between 1 and {}", Self::MAX_SIZE),
            ));
        }
        Ok(Self { page, page_size })
    }

    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.page_size)
    }

    pub fn limit(self) -> i64 {
        i64::from(self.page_size)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, page_size: Self::DEFAULT_SIZE }
    }
}

/// One page of items and the total count behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub request: PageRequest,
}

impl<T> Page<T> {
    pub fn has_next(&self) -> bool {
        u64::from(self.request.page) * u64::from(self.request.page_size) < self.total
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), total: self.total, request: self.request }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_has_next() {
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(None, Some(501)).is_err());
        let req = PageRequest::parse(Some(2), Some(10)).unwrap();
        assert_eq!(req.offset(), 10);
        let page = Page { items: vec![(); 10], total: 21, request: req };
        assert!(page.has_next());
        let page = Page { items: vec![(); 10], total: 20, request: req };
        assert!(!page.has_next());
    }
}
