import { runService } from '@sepal/http';
import { startDataApp } from './bootstrap';

void runService('data', () => startDataApp());
