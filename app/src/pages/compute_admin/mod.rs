//! Compute for administrators: Admin › Compute › Hypervisors and Flavors,
//! and Admin › System › System Information.

pub mod flavors;
pub mod hypervisors;
pub mod sysinfo;
