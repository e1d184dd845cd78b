"""cauce engine: runs the BPMN diagrams on SpiffWorkflow."""
