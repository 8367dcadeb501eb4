//! Compute (Nova) for project members: Project › Compute › Instances (with
//! status pushed live from the server), the launch dialog, an instance's
//! detail page, and Key Pairs. Admin › Instances reuses the instances table
//! across all projects.

pub mod detail;
pub mod instances;
pub mod keypairs;
pub mod launch;
