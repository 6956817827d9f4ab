export { startDashboard, type Dashboard, type DashboardOptions } from "./server.js";
